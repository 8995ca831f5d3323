import * as path from 'node:path';

/**
 * The package's root folder. Every file sfprof runs from sits two folders below it: tsc's output
 * (dist/<stage>/x.js) and the bundle the package ships (dist/bundle/sfprof.js, where every module's
 * __dirname is the bundle's), so this one computation holds for both. Files nested deeper compute
 * their paths from here, never from their own __dirname.
 */
export const PACKAGE_ROOT = path.join(__dirname, '..', '..');
