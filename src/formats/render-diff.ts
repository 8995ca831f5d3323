// The one dispatch from two profiles to a differential profile's bytes. Writers are loaded when
// used, as in render-profile.ts: every `sfprof` command loads this file, few of them write a diff.
/* eslint-disable @typescript-eslint/no-require-imports */
import type { DiffFormat } from '../config/format-names';
import type { Profile } from '../model/profile';

export interface DiffRenderOptions {
  /** How BASE and NEW are named in the output: their files, as given. */
  baseName: string;
  newName: string;
  /** HTML: the page title. */
  title?: string;
}

export function renderDiff(base: Profile, next: Profile, format: DiffFormat, options: DiffRenderOptions): string | Buffer {
  const { baseName, newName } = options;
  const diff = (): import('./diff').ProfileDiff => (require('./diff') as typeof import('./diff')).diffProfiles(base, next);
  switch (format) {
    case 'folded':
      return (require('./writers/folded') as typeof import('./writers/folded')).writeFoldedDiff(diff());
    case 'pprof':
      return (require('./writers/pprof') as typeof import('./writers/pprof')).writePprofDiff(diff(), { baseName, newName });
    case 'html': {
      const html = require('./writers/html') as typeof import('./writers/html');
      return html.writeDiffHtml(base, next, { ...(options.title !== undefined && { title: options.title }), baseName, newName });
    }
  }
}
