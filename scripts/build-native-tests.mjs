#!/usr/bin/env node
// Builds the standalone native test programs in test/native/*.cc.
//
// Each test/native/<name>.cc becomes build/native-tests/<name>, compiled with
//   c++ -std=c++17 -O2 -Wall -Wextra -pthread -I native
// A binary is rebuilt only when it is older than its source or native/ring_buffer.h.
//
// SFPROF_SANITIZE=address,undefined (any -fsanitize= list) adds
//   -fsanitize=<list> -fno-omit-frame-pointer -g
// and writes to build/native-tests-sanitize/ instead, so the two kinds never mix.
//
// Usage:
//   node scripts/build-native-tests.mjs            build every test
//   node scripts/build-native-tests.mjs <name>...  build the named tests
// As a module: `buildNativeTest(name)` returns the binary's path.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIR = join(ROOT, 'test', 'native');
const INCLUDE_DIR = join(ROOT, 'native');
// Headers the tests include: a change to one of them rebuilds every test.
const HEADER_DEPS = [join(INCLUDE_DIR, 'ring_buffer.h'), join(INCLUDE_DIR, 'other_thread_ring.h')];
const BASE_FLAGS = ['-std=c++17', '-O2', '-Wall', '-Wextra', '-pthread', '-I', INCLUDE_DIR];

function sanitizers() {
  const value = (process.env.SFPROF_SANITIZE ?? '').trim();
  if (value === '') return null;
  if (!/^[a-z_-]+(,[a-z_-]+)*$/.test(value)) {
    throw new Error(`SFPROF_SANITIZE must be a comma-separated list like "address,undefined", got "${value}"`);
  }
  return value;
}

/** Output directory for the current configuration (plain or sanitized). */
export function outputDir() {
  return join(ROOT, 'build', sanitizers() ? 'native-tests-sanitize' : 'native-tests');
}

/** Names (without .cc) of every test program in test/native/. */
export function listNativeTests() {
  if (!existsSync(SOURCE_DIR)) return [];
  return readdirSync(SOURCE_DIR)
    .filter((file) => file.endsWith('.cc'))
    .map((file) => basename(file, '.cc'))
    .sort();
}

function mtimeMs(path) {
  return statSync(path).mtimeMs;
}

function isUpToDate(binary, inputs) {
  if (!existsSync(binary)) return false;
  const built = mtimeMs(binary);
  return inputs.every((input) => !existsSync(input) || mtimeMs(input) < built);
}

/**
 * Compiles test/native/<name>.cc (unless the binary is already newer than its inputs) and
 * returns the binary's absolute path. Throws with the compiler's output if compilation fails.
 */
export function buildNativeTest(name) {
  const testName = name.endsWith('.cc') ? basename(name, '.cc') : name;
  if (!/^[\w.-]+$/.test(testName)) throw new Error(`invalid native test name: ${name}`);
  const source = join(SOURCE_DIR, `${testName}.cc`);
  if (!existsSync(source)) throw new Error(`no such native test: ${source}`);

  const sanitize = sanitizers();
  const dir = outputDir();
  const binary = join(dir, testName);
  mkdirSync(dir, { recursive: true });
  if (isUpToDate(binary, [source, ...HEADER_DEPS])) return binary;

  const flags = [...BASE_FLAGS];
  if (sanitize) flags.push(`-fsanitize=${sanitize}`, '-fno-omit-frame-pointer', '-g');
  const args = [...flags, source, '-o', binary];
  try {
    execFileSync(process.env.CXX || 'c++', args, { cwd: ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(`compiling ${testName} failed (${err.message.split('\n')[0]})\n${output}`);
  }
  return binary;
}

function main(argv) {
  const names = argv.length > 0 ? argv : listNativeTests();
  if (names.length === 0) {
    console.error('no native tests found in test/native/');
    return 1;
  }
  for (const name of names) {
    try {
      console.log(buildNativeTest(name));
    } catch (err) {
      console.error(err.message);
      return 1;
    }
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
