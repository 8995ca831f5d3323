// sfprof's public API.
export { start, stop, stats, isRunning, type SamplerStats } from './profiler';
export { Profile, type Frame, type FrameKind, type ProfileStack, type ProfileMetadata, type Drops } from './profile';
export { OptionError, type StartOptions } from './options';
export { writeFolded } from './writers/folded';
export { nativePath } from './native';
