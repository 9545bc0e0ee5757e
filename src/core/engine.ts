import type { Backend } from './backend.js';
import { SparsekitError } from './errors.js';

/**
 * The backend that factories (tensor(), zeros() ...) use when none is given. Backends are made
 * asynchronously (WebAssembly compile, worker start-up, GPU adapter), so there is no implicit
 * default: the platform entry (sparsekit/node, or the browser's) sets one.
 */
let current: Backend | null = null;

export function setBackend(backend: Backend): void {
  current = backend;
}

export function getBackend(): Backend {
  if (!current) {
    throw new SparsekitError(
      'E_NO_BACKEND',
      'no backend is set: call `await initCpu()` (sparsekit/node) or setBackend(await createWebGpuBackend()) first',
    );
  }
  return current;
}

export function hasBackend(): boolean {
  return current !== null;
}
