'use strict';
// Copied to dist/bundle/load.js by scripts/bundle.mjs: how the package's entries load sfprof.js.
//
// Through V8's code cache when the package has one for this bundle and V8 (dist/bundle/
// sfprof.js.<hash>.<v8>-<arch>.cache, made by scripts/code-cache.mjs at build and prebuild time): compiling the bundle and the
// functions the preload runs cost every process ~7 ms, the cache most of that. Any cache V8 rejects
// (other flags, another build) only costs the check; no cache is a plain require. Either way the
// module goes into require.cache under its own name, so every entry gets the same one.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const file = path.join(__dirname, 'sfprof.js');
// The bundle's hash, written here by scripts/bundle.mjs: V8 checks a cache against the source's
// length only, so a cache is named for the exact bundle it was made from, and no other can be read.
const BUNDLE_HASH = '__BUNDLE_HASH__';
const cacheFile = path.join(__dirname, `sfprof.js.${BUNDLE_HASH}.${process.versions.v8}-${process.arch}.cache`);
// What Node's CommonJS loader wraps a module in; the cache is made for this exact source.
const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n});';

/** The bundle compiled as a script, with `cachedData` if given (undefined: none). */
function compile(cachedData) {
  const source = HEAD + fs.readFileSync(file, 'utf8') + TAIL;
  return new vm.Script(source, { filename: file, cachedData });
}

/** Runs a compiled bundle as the module of `file`, registered in require.cache first. */
function run(script) {
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = module.paths;
  require.cache[file] = mod;
  try {
    script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, __dirname);
  } catch (error) {
    delete require.cache[file];
    throw error;
  }
  mod.loaded = true;
  return mod;
}

/** The exports of sfprof.js, loaded once per process; `codeCache` on its module says how. */
function load() {
  const loaded = require.cache[file];
  if (loaded) return loaded.exports;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    const mod = require(file);
    require.cache[file].codeCache = 'none';
    return mod;
  }
  const script = compile(cachedData);
  const mod = run(script);
  mod.codeCache = script.cachedDataRejected ? 'rejected' : 'used';
  return mod.exports;
}

module.exports = { load, compile, run, file, cacheFile };
