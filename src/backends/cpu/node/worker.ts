/** Entry of a CPU-backend worker thread in Node.js. */
import { parentPort, workerData } from 'node:worker_threads';
import { runWorker, type WorkerInit } from '../thread-pool.js';

await runWorker(workerData as WorkerInit, () => parentPort?.postMessage('ready'));
