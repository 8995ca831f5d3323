// sfprof's public API.
export { start, stop, takeProfile, stats, isRunning, attachWorker, detachWorker, sessionRunning, type SamplerStats } from './profiler';
export { Profile, type Frame, type FrameKind, type Tier, type ProfileStack, type ProfileMetadata, type Drops } from './profile';
export { OptionError, type StartOptions } from './options';
export { FORMATS, type Format, renderProfile, readProfile, type RenderOptions } from './formats';
export { InputError } from './readers/input-error';
export { writeFolded, type FoldedOptions } from './writers/folded';
export { writePprof } from './writers/pprof';
export { writeCpuProfile } from './writers/cpuprofile';
export { writeHtml } from './writers/html';
export { nativePath } from './native';
