// The Node.js releases sfprof supports besides the one running: official Linux builds from the npm
// registry (runtimes/package.json), each with its binary and headers, so the addon can be built,
// prebuilt and tested against every supported ABI on one machine.
//   node scripts/runtimes.mjs install        installs them into runtimes/node_modules (npm run runtimes)
//   node scripts/runtimes.mjs list           one line per runtime: name, version, ABI, node path
//   node scripts/runtimes.mjs build <name>   rebuilds build/Release/sfprof.node against that runtime
//                                            (a name from the list, or "current" for this Node)
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIMES = path.join(root, 'runtimes');

/** NODE_MODULE_VERSION from a Node's headers. */
function abiOf(nodedir) {
  const header = fs.readFileSync(path.join(nodedir, 'include', 'node', 'node_version.h'), 'utf8');
  const match = /#define NODE_MODULE_VERSION (\d+)/.exec(header);
  if (!match) throw new Error(`no NODE_MODULE_VERSION in ${nodedir}`);
  return Number(match[1]);
}

/**
 * The installed runtimes of runtimes/package.json (those not installed are left out), oldest first:
 * { name, version, major, abi, arch, node (binary), nodedir (headers) }.
 */
export function installedRuntimes() {
  const manifest = JSON.parse(fs.readFileSync(path.join(RUNTIMES, 'package.json'), 'utf8'));
  const found = [];
  for (const name of Object.keys(manifest.dependencies)) {
    const nodedir = path.join(RUNTIMES, 'node_modules', name);
    if (!fs.existsSync(path.join(nodedir, 'package.json'))) continue;
    const pkg = JSON.parse(fs.readFileSync(path.join(nodedir, 'package.json'), 'utf8'));
    const arch = pkg.cpu === 'arm64' ? 'arm64' : 'x64';
    found.push({ name, version: pkg.version, major: Number(pkg.version.split('.')[0]), abi: abiOf(nodedir), arch, node: path.join(nodedir, 'bin', 'node'), nodedir });
  }
  return found.sort((a, b) => a.major - b.major || a.arch.localeCompare(b.arch));
}

/**
 * The Node running this script, as a runtime. Its headers: the ones it ships beside its binary
 * (official builds and distribution packages do), else wherever npm's config tells node-gyp.
 */
export function currentRuntime() {
  const prefix = path.join(path.dirname(process.execPath), '..');
  const shipped = fs.existsSync(path.join(prefix, 'include', 'node', 'node_version.h'));
  return {
    name: 'current',
    version: process.versions.node,
    major: Number(process.versions.node.split('.')[0]),
    abi: Number(process.versions.modules),
    arch: process.arch,
    node: process.execPath,
    nodedir: shipped ? path.resolve(prefix) : undefined,
  };
}

export function findRuntime(name) {
  if (name === 'current') return currentRuntime();
  const runtime = installedRuntimes().find((r) => r.name === name || String(r.major) === name);
  if (!runtime) throw new Error(`runtimes: ${JSON.stringify(name)} is not installed; expected one of: current, ${installedRuntimes().map((r) => r.name).join(', ') || '(none: run npm run runtimes)'}`);
  return runtime;
}

/** Rebuilds build/Release/sfprof.node against `runtime`'s headers; its output goes to ours. */
export function buildFor(runtime, { quiet = false } = {}) {
  const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const env = { ...process.env };
  if (runtime.nodedir) env.npm_config_nodedir = runtime.nodedir;
  else delete env.npm_config_nodedir;
  const args = [gyp, 'rebuild', ...(runtime.nodedir ? [`--nodedir=${runtime.nodedir}`] : [])];
  if (!quiet) {
    execFileSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    return;
  }
  // Quiet: node-gyp's lines only when it fails.
  const run = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error(`node-gyp rebuild for Node ${runtime.version} failed (status ${run.status})`);
  }
}

function install() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const lock = fs.existsSync(path.join(RUNTIMES, 'package-lock.json'));
  const run = spawnSync(npm, [lock ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: RUNTIMES, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, name] = process.argv.slice(2);
  if (command === 'install') {
    install();
    for (const r of installedRuntimes()) console.log(`${r.name}: Node ${r.version} (ABI ${r.abi}, ${r.arch})`);
  } else if (command === 'list') {
    for (const r of [currentRuntime(), ...installedRuntimes()]) console.log(`${r.name}\t${r.version}\tabi${r.abi}\t${r.arch}\t${r.node}`);
  } else if (command === 'build' && name) {
    buildFor(findRuntime(name));
  } else {
    console.error('usage: node scripts/runtimes.mjs install | list | build <name|major|current>');
    process.exit(2);
  }
}
