// The Node.js releases sfprof supports besides the one running: official Linux builds from the npm
// registry, each with its binary and headers, so the addon can be built, prebuilt and tested against
// every supported ABI on one machine: runtimes/package.json has the x64 builds of Node 22, 24 and 26,
// runtimes/arm64/package.json the arm64 builds of Node 20 to 26 (cross-compiled for, and run under
// qemu-user on x64: scripts/arm64-emulation.mjs).
//   node scripts/runtimes.mjs install        installs them (npm run runtimes)
//   node scripts/runtimes.mjs list           one line per runtime: name, version, ABI, arch, node path
//   node scripts/runtimes.mjs build <name>   rebuilds build/Release/sfprof.node against that runtime
//                                            (a name from the list, a major such as 26 for this
//                                            machine's architecture, 26-arm64, or "current")
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIMES = path.join(root, 'runtimes');
// The arm64 packages say "cpu": "arm64", which npm refuses on another machine unless forced; forcing
// only their own manifest keeps every other check of the x64 install.
const MANIFESTS = [{ dir: RUNTIMES, force: false }, { dir: path.join(RUNTIMES, 'arm64'), force: true }];

/** NODE_MODULE_VERSION from a Node's headers. */
function abiOf(nodedir) {
  const header = fs.readFileSync(path.join(nodedir, 'include', 'node', 'node_version.h'), 'utf8');
  const match = /#define NODE_MODULE_VERSION (\d+)/.exec(header);
  if (!match) throw new Error(`no NODE_MODULE_VERSION in ${nodedir}`);
  return Number(match[1]);
}

/** The runtime names every manifest lists, whether installed or not. */
export function declaredRuntimes() {
  return MANIFESTS.flatMap(({ dir }) => Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies));
}

/**
 * The installed runtimes of runtimes/package.json and runtimes/arm64/package.json (those not
 * installed are left out), oldest first: { name, version, major, abi, arch, node (binary), nodedir
 * (headers) }.
 */
export function installedRuntimes() {
  const found = [];
  for (const { dir } of MANIFESTS) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const name of Object.keys(manifest.dependencies)) {
      const nodedir = path.join(dir, 'node_modules', name);
      if (!fs.existsSync(path.join(nodedir, 'package.json'))) continue;
      const pkg = JSON.parse(fs.readFileSync(path.join(nodedir, 'package.json'), 'utf8'));
      const arch = pkg.cpu === 'arm64' ? 'arm64' : 'x64';
      found.push({ name, version: pkg.version, major: Number(pkg.version.split('.')[0]), abi: abiOf(nodedir), arch, node: path.join(nodedir, 'bin', 'node'), nodedir });
    }
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
  // A bare major means this machine's architecture.
  const runtime = installedRuntimes().find((r) => r.name === name || `${r.major}-${r.arch}` === name || (String(r.major) === name && r.arch === process.arch));
  if (!runtime) throw new Error(`runtimes: ${JSON.stringify(name)} is not installed; expected one of: current, ${installedRuntimes().map((r) => r.name).join(', ') || '(none: run npm run runtimes)'}`);
  return runtime;
}

/**
 * The architecture an ELF binary was built for ('x64', 'arm64'), from its header's e_machine;
 * undefined for another format (Mach-O) or machine.
 */
export function elfArch(file) {
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, header, 0, 20, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) return undefined;
  return { 62: 'x64', 183: 'arm64' }[header.readUInt16LE(18)];
}

/** GNU cross-toolchain prefixes, by Node's name for the target architecture. */
const CROSS_PREFIX = { arm64: 'aarch64-linux-gnu-', x64: 'x86_64-linux-gnu-' };

/**
 * The prefix of the cross toolchain that builds for `arch` here ('' for this machine's own), or
 * undefined when it is not installed (Debian: g++-aarch64-linux-gnu).
 */
export function toolchainFor(arch) {
  if (arch === process.arch) return '';
  const prefix = process.platform === 'linux' ? CROSS_PREFIX[arch] : undefined;
  if (!prefix) return undefined;
  const found = ['g++', 'gcc', 'ar', 'strip', 'nm'].every((tool) => spawnSync(`${prefix}${tool}`, ['--version'], { stdio: 'ignore' }).status === 0);
  return found ? prefix : undefined;
}

/**
 * Rebuilds build/Release/sfprof.node against `runtime`'s headers; its output goes to ours. A runtime
 * for another architecture is cross-compiled with its GNU toolchain (toolchainFor).
 */
export function buildFor(runtime, { quiet = false } = {}) {
  const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const env = { ...process.env };
  if (runtime.nodedir) env.npm_config_nodedir = runtime.nodedir;
  else delete env.npm_config_nodedir;
  // Every core: the prebuilds (npm pack, and so npm test's package test) build the addon's 30 sources
  // once per Node ABI and architecture.
  const args = [gyp, 'rebuild', '--jobs=max', ...(runtime.nodedir ? [`--nodedir=${runtime.nodedir}`] : [])];
  if (runtime.arch !== process.arch) {
    const prefix = toolchainFor(runtime.arch);
    if (prefix === undefined) throw new Error(`no ${runtime.arch} cross compiler for Node ${runtime.version} (${CROSS_PREFIX[runtime.arch] ?? '?'}g++; Debian: apt-get install g++-aarch64-linux-gnu)`);
    // gyp's make generator takes the target's tools from these; the host's stay for host tools.
    Object.assign(env, { CC: `${prefix}gcc`, CXX: `${prefix}g++`, LINK: `${prefix}g++`, AR: `${prefix}ar` });
    args.push(`--arch=${runtime.arch}`);
  }
  if (!quiet) {
    execFileSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
    return;
  }
  // Quiet: node-gyp's lines only when it fails.
  const run = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error(`node-gyp rebuild for Node ${runtime.version} (${runtime.arch}) failed (status ${run.status})`);
  }
}

function install() {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  for (const { dir, force } of MANIFESTS) {
    const lock = fs.existsSync(path.join(dir, 'package-lock.json'));
    const args = [lock ? 'ci' : 'install', ...(force ? ['--force'] : []), '--no-audit', '--no-fund', '--loglevel=error'];
    const run = spawnSync(npm, args, { cwd: dir, stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
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
