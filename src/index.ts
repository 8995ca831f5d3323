// sfprof's public API: everything a user imports from 'sfprof', and nothing else.
export { start, stop, takeProfile, stats, isRunning, attachWorker, detachWorker, type SamplerStats } from './pipeline/profiler';
export { Profile, type Frame, type FrameKind, type Tier, type ProfileStack, type ProfileMetadata, type Drops, type Labels } from './model/profile';
export { withLabels, setLabels, getLabels } from './pipeline/labels';
export { OptionError } from './config/option-error';
export type { StartOptions } from './config/options';
export type { LabelsMode } from './config/labels';
export { FORMATS, type Format, renderProfile, readProfile, type RenderOptions } from './formats/render';
export { InputError } from './formats/readers/input-error';
export { nativePath } from './native/binding';
// Loaded for its effect: stall reports (start option `stall`) are written by the delivery stage.
import './delivery/stall-reports';
