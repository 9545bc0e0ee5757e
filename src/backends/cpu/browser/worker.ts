/** Entry of a CPU-backend worker in browsers (a module Web Worker). */
import { runWorker, type WorkerInit } from '../thread-pool.js';

const scope = globalThis as unknown as { onmessage: ((e: MessageEvent<WorkerInit>) => void) | null; postMessage(m: unknown): void };
scope.onmessage = (event) => {
  scope.onmessage = null;
  void runWorker(event.data, () => scope.postMessage('ready'));
};
