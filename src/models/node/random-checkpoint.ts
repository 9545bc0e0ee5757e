/**
 * Writes Llama-family model folders with random weights, for tests and benchmarks where no
 * trained model can be downloaded. Linear weights are N(0, 1/in), norms are ones, drawn from one
 * seeded stream in checkpoint order (the same seed gives the same files). Weights may be pruned
 * and stored sparse (docs/sparse-checkpoint.md). Everything goes through saveModelFolder, so the
 * folder appears atomically and loads with loadModelFolder.
 */
import type { Backend } from '../../core/backend.js';
import { getBackend } from '../../core/engine.js';
import { Random } from '../../core/random.js';
import { BsrMatrix } from '../../sparse/bsr.js';
import { CsrMatrix } from '../../sparse/csr.js';
import { NmMatrix } from '../../sparse/nm.js';
import type { SaveableWeight, ValuesDType } from '../checkpoint-layout.js';
import { llamaConfigJson, type LlamaShape, llamaWeightShapes } from '../llama-config.js';
import { saveModelFolder, type SavedModelFolder } from './save-model-folder.js';

/** How one linear weight is pruned and stored; null keeps it dense. */
export type RandomSparsity =
  | { readonly format: 'csr'; readonly sparsity: number }
  | { readonly format: 'nm'; readonly n: number; readonly m: number }
  | { readonly format: 'bsr'; readonly block: readonly [number, number]; readonly sparsity: number }
  | null;

export interface RandomModelOptions {
  shape: LlamaShape;
  seed: number;
  /** Per linear weight (q/k/v/o/gate/up/down/lm_head): its format after magnitude pruning. Default: all dense. */
  sparsity?: (name: string, shape: readonly [number, number]) => RandomSparsity;
  /** Extra config.json fields (e.g. tie_word_embeddings, rope_scaling) over llamaConfigJson(shape). */
  config?: Record<string, unknown>;
  valuesDType?: ValuesDType;
  /** Backend for the sparse formats while they are built (default: getBackend()). */
  backend?: Backend;
  maxShardBytes?: number;
  force?: boolean;
  /** Extra files (e.g. a tokenizer.json). */
  files?: Record<string, string | Uint8Array>;
}

/**
 * A random Llama model folder whose linear weights are magnitude-pruned into CSR, N:M or BSR as
 * `sparsity` says (e.g. the ~100M-parameter model of the decode benchmark). Dense weights stay on
 * the host until written; sparse ones are built on `backend` and freed once saved.
 */
export async function writeRandomModelFolder(dir: string, options: RandomModelOptions): Promise<SavedModelFolder> {
  const { shape, seed } = options;
  const config = { ...llamaConfigJson(shape), ...(options.config ?? {}) };
  const tied = config.tie_word_embeddings === true;
  const weights: [string, SaveableWeight][] = [];
  const built: { dispose(): void }[] = [];
  try {
    for (const w of randomLlamaWeights(shape, seed)) {
      if (tied && w.name === 'lm_head.weight') continue;
      const spec = w.shape.length === 2 && w.name !== 'model.embed_tokens.weight' ? options.sparsity?.(w.name, [w.shape[0], w.shape[1]]) ?? null : null;
      if (!spec) {
        weights.push([w.name, { shape: w.shape, data: w.data }]);
        continue;
      }
      const sparse = pruneAndBuild(w.data, w.shape[0], w.shape[1], spec, options.backend ?? getBackend());
      built.push(sparse);
      weights.push([w.name, sparse]);
    }
    return await saveModelFolder(dir, {
      config,
      weights,
      valuesDType: options.valuesDType,
      maxShardBytes: options.maxShardBytes,
      force: options.force,
      files: options.files,
    });
  } finally {
    for (const b of built) b.dispose();
  }
}

/** The weights of a random Llama in checkpoint order: linear N(0, 1/in), norms ones. */
export function* randomLlamaWeights(shape: LlamaShape, seed: number): Generator<{ name: string; shape: number[]; data: Float32Array }> {
  const rng = new Random(seed);
  for (const { name, shape: s } of llamaWeightShapes(shape)) {
    const data = new Float32Array(s.reduce((a, b) => a * b, 1));
    if (s.length === 1) data.fill(1);
    else {
      const std = 1 / Math.sqrt(s[1]);
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    }
    yield { name, shape: s, data };
  }
}

function pruneAndBuild(data: Float32Array, rows: number, cols: number, spec: NonNullable<RandomSparsity>, backend: Backend): CsrMatrix | NmMatrix | BsrMatrix {
  switch (spec.format) {
    case 'csr':
      pruneRows(data, rows, cols, spec.sparsity);
      return CsrMatrix.fromDense(data, rows, cols, backend);
    case 'nm':
      pruneNm(data, spec.n, spec.m);
      return NmMatrix.fromDense(data, rows, cols, spec.n, spec.m, backend);
    case 'bsr':
      pruneBlocks(data, rows, cols, spec.block[0], spec.block[1], spec.sparsity);
      return BsrMatrix.fromDense(data, rows, cols, spec.block[0], spec.block[1], backend);
  }
}

/** Zeroes the smallest-|w| `sparsity` fraction of each row. */
function pruneRows(w: Float32Array, rows: number, cols: number, sparsity: number): void {
  const drop = Math.round(sparsity * cols);
  if (drop === 0) return;
  const magnitudes = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const row = w.subarray(r * cols, (r + 1) * cols);
    for (let c = 0; c < cols; c++) magnitudes[c] = Math.abs(row[c]);
    magnitudes.sort();
    const threshold = magnitudes[drop - 1];
    // Everything below the threshold goes, then ties at it until `drop` are gone.
    let dropped = 0;
    for (let c = 0; c < cols; c++) {
      if (Math.abs(row[c]) < threshold) {
        row[c] = 0;
        dropped++;
      }
    }
    for (let c = 0; c < cols && dropped < drop; c++) {
      if (row[c] !== 0 && Math.abs(row[c]) === threshold) {
        row[c] = 0;
        dropped++;
      }
    }
  }
}

/** Keeps the n largest |w| of every m consecutive weights (ties: the earlier position stays). */
function pruneNm(w: Float32Array, n: number, m: number): void {
  const magnitudes = new Float64Array(m);
  for (let g = 0; g < w.length; g += m) {
    for (let i = 0; i < m; i++) magnitudes[i] = Math.abs(w[g + i]);
    for (let k = 0; k < m - n; k++) {
      let smallest = -1;
      for (let i = m - 1; i >= 0; i--) if (magnitudes[i] >= 0 && (smallest < 0 || magnitudes[i] < magnitudes[smallest])) smallest = i;
      magnitudes[smallest] = -1;
      w[g + smallest] = 0;
    }
  }
}

/** In each block row, zeroes the `sparsity` fraction of br x bc blocks with the smallest squared norm. */
function pruneBlocks(w: Float32Array, rows: number, cols: number, br: number, bc: number, sparsity: number): void {
  const blockCols = cols / bc;
  const drop = Math.round(sparsity * blockCols);
  const norms = new Float64Array(blockCols);
  const order = Array.from({ length: blockCols }, (_, i) => i);
  for (let R = 0; R < rows / br; R++) {
    norms.fill(0);
    for (let r = R * br; r < (R + 1) * br; r++) for (let c = 0; c < cols; c++) norms[Math.floor(c / bc)] += w[r * cols + c] ** 2;
    order.sort((a, b) => norms[a] - norms[b]);
    for (let i = 0; i < drop; i++) {
      const C = order[i];
      for (let r = R * br; r < (R + 1) * br; r++) w.fill(0, r * cols + C * bc, r * cols + (C + 1) * bc);
    }
    for (let i = 0; i < blockCols; i++) order[i] = i;
  }
}
