// The one dispatch from a Profile to bytes. Each writer is loaded the first time its format is
// written: the preload writes one format once, at exit, and every process it runs in would
// otherwise pay at start for all four writers and pprof-format (about 9 ms here).
/* eslint-disable @typescript-eslint/no-require-imports */
import type { Format } from '../config/format-names';
import { parseLabelRoot } from '../config/options';
import { rootByLabel } from '../model/label-root';
import type { Profile } from '../model/profile';

export interface RenderOptions {
  /** Folded: append "_[j]"/"_[i]" tier suffixes. */
  tiers?: boolean;
  /** HTML: the page title. */
  title?: string;
  /**
   * Every format: root each stack by its value of this label key, a frame "[route=/users/:id]"
   * (model/label-root.ts); stacks without the key get no root frame.
   */
  labelRoot?: string;
}

export function renderProfile(profile: Profile, format: Format, options: RenderOptions = {}): string | Buffer {
  if (options.labelRoot !== undefined) profile = rootByLabel(profile, parseLabelRoot(options.labelRoot, 'option "labelRoot"'));
  switch (format) {
    case 'folded':
      return (require('./writers/folded') as typeof import('./writers/folded')).writeFolded(profile, { tiers: options.tiers });
    case 'pprof':
      return (require('./writers/pprof') as typeof import('./writers/pprof')).writePprof(profile);
    case 'cpuprofile':
      return (require('./writers/cpuprofile') as typeof import('./writers/cpuprofile')).writeCpuProfile(profile);
    case 'html':
      return (require('./writers/html') as typeof import('./writers/html')).writeHtml(profile, { title: options.title });
  }
}
