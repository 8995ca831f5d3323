// Runs Linux arm64 programs on an x64 machine with qemu-user (Debian's qemu-user-static), so the
// linux-arm64 prebuilds are tested under the official arm64 Node builds where no arm64 machine is.
// The kernel must hand an arm64 ELF to qemu by itself (binfmt_misc): the tests spawn
// process.execPath, and each child of an emulated Node is an arm64 Node too.
//   node scripts/arm64-emulation.mjs    registers qemu-aarch64 when it is not, then runs arm64 Node
// Registering needs root (CI runs as root); it is done once per boot and left in place.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BINFMT = '/proc/sys/fs/binfmt_misc';
const ENTRY = path.join(BINFMT, 'qemu-aarch64');
// Debian's qemu-user-static ships the registration line; systemd-binfmt would load it at boot, which
// containers and CI machines mostly do not run.
const CONF = '/usr/lib/binfmt.d/qemu-aarch64.conf';
/** Where qemu finds the arm64 dynamic loader and libc: Debian's libc6-arm64-cross, which g++-aarch64-linux-gnu brings. */
export const QEMU_LD_PREFIX = '/usr/aarch64-linux-gnu';

const INSTALL = 'apt-get install qemu-user-static g++-aarch64-linux-gnu';

/** The environment an emulated arm64 Node runs in; its children inherit it. */
export function emulatedEnv(env = process.env) {
  return process.arch === 'arm64' ? { ...env } : { ...env, QEMU_LD_PREFIX };
}

function enabled() {
  return fs.existsSync(ENTRY) && fs.readFileSync(ENTRY, 'utf8').startsWith('enabled');
}

/**
 * Makes arm64 programs runnable here, or throws saying what is missing. Idempotent: an arm64 machine
 * and an existing registration are left as they are.
 */
export function ensureArm64Emulation() {
  if (process.arch === 'arm64') return 'native arm64';
  if (process.platform !== 'linux') throw new Error('arm64 emulation: Linux only (binfmt_misc and qemu-user)');
  if (!fs.existsSync(path.join(QEMU_LD_PREFIX, 'lib', 'ld-linux-aarch64.so.1'))) {
    throw new Error(`arm64 emulation: no arm64 C library in ${QEMU_LD_PREFIX}; ${INSTALL}`);
  }
  if (enabled()) return 'qemu-aarch64 already registered';
  if (!fs.existsSync(CONF)) throw new Error(`arm64 emulation: ${CONF} is missing; ${INSTALL}`);
  const line = fs.readFileSync(CONF, 'utf8').split('\n').find((l) => l.startsWith(':qemu-aarch64:'));
  if (!line) throw new Error(`arm64 emulation: no ":qemu-aarch64:" line in ${CONF}`);
  const interpreter = line.split(':')[6];
  if (!fs.existsSync(interpreter)) throw new Error(`arm64 emulation: ${interpreter} (named by ${CONF}) is missing; ${INSTALL}`);
  try {
    if (!fs.existsSync(path.join(BINFMT, 'register'))) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT], { stdio: 'pipe' });
    fs.writeFileSync(path.join(BINFMT, 'register'), line);
  } catch (error) {
    const detail = error.stderr ? String(error.stderr).trim() : error.message;
    throw new Error(`arm64 emulation: cannot register qemu-aarch64 with binfmt_misc (${detail}). ` +
      `It needs root and a writable ${BINFMT}: run as root "node scripts/arm64-emulation.mjs", ` +
      'or in a container start it privileged (or register binfmt on the host, e.g. with the qemu-user-static image).', { cause: error });
  }
  if (!enabled()) throw new Error(`arm64 emulation: ${ENTRY} is not enabled after registering`);
  return 'qemu-aarch64 registered';
}

/** Runs `node -p process.arch` with an arm64 Node binary; throws unless it answers arm64. */
export function checkArm64Node(node) {
  const run = spawnSync(node, ['-p', 'process.arch'], { env: emulatedEnv(), encoding: 'utf8', timeout: 60_000 });
  if (run.error || run.status !== 0 || run.stdout.trim() !== 'arm64') {
    throw new Error(`arm64 emulation: ${node} -p process.arch: ${run.error?.message ?? `status ${run.status}, ${JSON.stringify(run.stdout.trim())} ${run.stderr.trim()}`}`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(`arm64-emulation: ${ensureArm64Emulation()}`);
    const { installedRuntimes } = await import('./runtimes.mjs');
    const arm64 = installedRuntimes().filter((r) => r.arch === 'arm64');
    for (const runtime of arm64) {
      const started = process.hrtime.bigint();
      checkArm64Node(runtime.node);
      console.log(`arm64-emulation: ${runtime.name} (Node ${runtime.version}) runs, ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s to start and exit`);
    }
    if (arm64.length === 0) console.log('arm64-emulation: no arm64 runtime installed to try (npm run runtimes)');
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
