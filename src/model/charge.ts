// Which frame a sample's own time belongs to, for views that rank the app's functions (`top`, the
// HTML function table). Builtins, IC stubs, bytecode handlers, regexp code and native code are
// charged to the nearest JS function below them, as V8's own profiler and DevTools' bottom-up do;
// the stored formats keep every raw frame. GC, idle, program, thread roots and samples with no JS
// caller keep their leaf.
import type { Frame } from './profile';

/** The app's own code: JS (Node's internals too) and wasm. */
export function isFunctionFrame(frame: Frame): boolean {
  return frame.kind === 'js' || frame.kind === 'node' || frame.kind === 'wasm';
}

/** Code a JS function called into, whose time is that function's in the charged view. */
export function chargesToCaller(frame: Frame): boolean {
  switch (frame.kind) {
    case 'builtin':
    case 'bytecode-handler':
    case 'regexp':
    case 'native':
      return true;
    case 'synthetic':
      return frame.inlined === true;
    default:
      return false;
  }
}

/**
 * Index in `stackFrames` (frame ids, root first) of the frame the sample's own time goes to: the leaf,
 * or with `charged` the nearest JS function below a run of builtins and native code.
 */
export function selfIndex(frames: readonly Frame[], stackFrames: readonly number[], charged: boolean): number {
  const leaf = stackFrames.length - 1;
  if (!charged) return leaf;
  let i = leaf;
  while (i >= 0 && chargesToCaller(frames[stackFrames[i]!]!)) i--;
  return i >= 0 && i < leaf && isFunctionFrame(frames[stackFrames[i]!]!) ? i : leaf;
}
