// sfprof's public API.
export { start, stop, takeProfile, stats, isRunning, attachWorker, detachWorker, sessionRunning, type SamplerStats } from './pipeline/profiler';
export { Profile, type Frame, type FrameKind, type Tier, type ProfileStack, type ProfileMetadata, type Drops } from './model/profile';
export { OptionError, type StartOptions } from './config/options';
export { FORMATS, type Format, renderProfile, readProfile, type RenderOptions } from './formats/render';
export { InputError } from './formats/readers/input-error';
export { writeFolded, type FoldedOptions } from './formats/writers/folded';
export { writePprof } from './formats/writers/pprof';
export { writeCpuProfile } from './formats/writers/cpuprofile';
export { writeHtml } from './formats/writers/html';
export { nativePath } from './native/binding';
