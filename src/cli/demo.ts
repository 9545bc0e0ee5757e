/**
 * `sparsekit demo`: the main job on a built-in default. Generates a small Llama-shaped model
 * whose attention weights are magnitude-pruned to 50% (unstructured) and MLP weights to 2:4,
 * shows it with `inspect`, then runs the quick kernel benchmark.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SparsekitError } from '../core/errors.js';
import { writeFileAtomic } from '../io/node/atomic-file.js';
import { inspectSafetensors } from '../io/node/inspect.js';
import { writeRandomLlamaCheckpoint } from '../models/node/random-checkpoint.js';
import { benchCommand } from './bench.js';
import { renderInspectReport } from './inspect.js';

const MARKER = '.sparsekit-demo';

/** Zeroes the smallest-|w| fraction of each row (magnitude pruning, per output row). */
function pruneRowsByMagnitude(w: Float32Array, rows: number, cols: number, sparsity: number): Float32Array {
  const drop = Math.round(sparsity * cols);
  const order = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    for (let c = 0; c < cols; c++) order[c] = c;
    order.sort((a, b) => Math.abs(row[a]) - Math.abs(row[b]));
    for (let i = 0; i < drop; i++) row[order[i]] = 0;
  }
  return w;
}

/** Keeps the 2 largest |w| of every 4 consecutive weights of a row (2:4 along the input dimension). */
function pruneTwoOfFour(w: Float32Array): Float32Array {
  for (let g = 0; g < w.length; g += 4) {
    const idx = [0, 1, 2, 3].sort((a, b) => Math.abs(w[g + a]) - Math.abs(w[g + b]));
    w[g + idx[0]] = 0;
    w[g + idx[1]] = 0;
  }
  return w;
}

export async function demoCommand(options: { out: string; full?: boolean }): Promise<void> {
  const dir = options.out;
  if (existsSync(dir)) {
    if (!existsSync(join(dir, MARKER))) {
      throw new SparsekitError('E_EXISTS', `${dir} exists and was not made by \`sparsekit demo\`; choose another --out`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  const shape = { hiddenSize: 256, intermediateSize: 688, heads: 8, kvHeads: 4, layers: 4, vocabSize: 1024, maxPositions: 2048 };
  process.stderr.write(`demo: writing a random Llama model (${shape.layers} layers, width ${shape.hiddenSize}) to ${dir}\n`);
  await writeRandomLlamaCheckpoint(dir, shape, 42, (name, data, s) => {
    if (/self_attn\.[qkvo]_proj/.test(name)) return pruneRowsByMagnitude(data, s[0], s[1], 0.5);
    if (/mlp\./.test(name)) return pruneTwoOfFour(data);
    return data;
  });
  await writeFileAtomic(join(dir, MARKER), 'made by `sparsekit demo`; safe to delete\n');
  process.stdout.write(`\n$ sparsekit inspect ${dir}\n`);
  process.stdout.write(renderInspectReport(await inspectSafetensors(dir)));
  process.stdout.write(`\n$ sparsekit bench kernels${options.full ? '' : ' --quick'} --json ${join(dir, 'bench-kernels.json')}\n`);
  await benchCommand('kernels', { quick: !options.full, json: join(dir, 'bench-kernels.json') });
}
