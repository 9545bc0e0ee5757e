/**
 * Writing a Hugging Face model folder: config.json, generation_config.json, model.safetensors (or
 * shards with model.safetensors.index.json) and tokenizer files. Sparse weights are written in the
 * layout of docs/sparse-checkpoint.md (or dense with `storeDense`). The folder is built under a
 * temporary name beside `dir` and renamed into place only when complete, so a failure never leaves
 * a half-written model; tensors stream to disk one at a time, so saving needs no second copy of
 * the model in memory. Node only.
 */
import { copyFile, lstat, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SparsekitError } from '../../core/errors.js';
import { temporaryPathFor } from '../../io/node/atomic-file.js';
import { TOKENIZER_FILES } from '../../io/node/tokenizer-file.js';
import { buildSafetensorsHeader, DEFAULT_WRITE_CHUNK_BYTES, type SafetensorsTensorData, tensorByteChunks } from '../../io/safetensors-encode.js';
import { SAFETENSORS_DTYPE_BYTES, type SafetensorsTensorInfo } from '../../io/safetensors-format.js';
import { Tensor } from '../../core/tensor.js';
import { type PlannedTensor, type PlannedWeight, planWeight, type SaveableWeight, sparsekitMetadata, type SparseWeightDescription, type ValuesDType } from '../checkpoint-layout.js';
import { parseDecoderConfig } from '../config.js';
import { expectedDecoderTensors } from '../hf-names.js';
import { formatDims, ModelError } from '../model-error.js';
import { CONFIG_FILE, GENERATION_CONFIG_FILE, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './model-folder.js';

/** Shards above this many bytes of tensor data are split (transformers' default is 5 GB; smaller shards stay under 32-bit limits). */
export const DEFAULT_MAX_SHARD_BYTES = 2 * 1024 * 1024 * 1024;

export interface SaveModelFolderOptions {
  /** config.json as an object (HF field names); it must parse as a supported decoder config. */
  config: Record<string, unknown>;
  /** Weights by HF name: dense tensors, sparse matrices, or dense host values. Written in this order. */
  weights: Iterable<readonly [string, SaveableWeight]> | Readonly<Record<string, SaveableWeight>>;
  /** generation_config.json as an object; absent: copied from `tokenizerFrom` when it has one. */
  generationConfig?: Record<string, unknown>;
  /** A folder whose tokenizer files (tokenizer.json, tokenizer_config.json ...) are copied. */
  tokenizerFrom?: string;
  /** More files to write, by name (e.g. a tokenizer.json built in memory). */
  files?: Readonly<Record<string, string | Uint8Array>>;
  /** Write sparse weights as plain zero-filled dense tensors, for runtimes without the sparse layout. */
  storeDense?: boolean;
  /** Dtype of stored float values, dense and sparse (default F32). */
  valuesDType?: ValuesDType;
  /** CSR weights as CSR parts or as bitmaps; 'auto' (default) takes the smaller (docs/sparse-checkpoint.md). */
  csrEncoding?: 'auto' | 'csr' | 'bitmap';
  /** Bytes of tensor data per shard before starting another (default 2 GiB); one weight's parts never split. */
  maxShardBytes?: number;
  /** Replace `dir` if it exists (default: refuse). */
  force?: boolean;
  /** Check the weights against the config: every tensor it needs present, with its shape (default true). */
  validate?: boolean;
}

export interface SavedModelFolder {
  dir: string;
  /** Weight files written (names inside dir). */
  weightFiles: string[];
  /** Bytes of tensor data written. */
  tensorBytes: number;
  /** Weights stored sparse. */
  sparseWeights: number;
}

export async function saveModelFolder(dir: string, options: SaveModelFolderOptions): Promise<SavedModelFolder> {
  const force = options.force ?? false;
  const existing = await lstat(dir).catch(() => null);
  if (existing && !force) throw new SparsekitError('E_EXISTS', `${dir} already exists; pass force to replace it`);
  if (existing && !existing.isDirectory()) throw new SparsekitError('E_EXISTS', `${dir} exists and is not a folder; refusing to replace it`);

  // Everything that can be checked is checked before the first byte is written.
  const config = parseDecoderConfig(options.config, join(dir, CONFIG_FILE));
  const entries = isIterable(options.weights) ? [...options.weights] : Object.entries(options.weights);
  const plans: PlannedWeight[] = [];
  const names = new Set<string>();
  for (const [name, weight] of entries) {
    const plan = planWeight(name, weight, { valuesDType: options.valuesDType, storeDense: options.storeDense, csrEncoding: options.csrEncoding });
    for (const t of plan.tensors) {
      if (names.has(t.name)) throw new ModelError(`${dir}: tensor ${JSON.stringify(t.name)} would be written twice`, { code: 'E_ARGUMENT' });
      names.add(t.name);
    }
    plans.push(plan);
  }
  if (options.validate ?? true) {
    const byName = new Map(entries.map(([name, w]) => [name, w]));
    for (const e of expectedDecoderTensors(config)) {
      const w = byName.get(e.name);
      if (!w) throw new ModelError(`${dir}: the weights lack ${JSON.stringify(e.name)} ${formatDims(e.shape)}, which the config needs`, { code: 'E_MISSING_TENSOR' });
      const shape = shapeOf(w);
      if (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
        throw new ModelError(`${dir}: weight ${JSON.stringify(e.name)} has shape ${formatDims(shape)}, but the config implies ${formatDims(e.shape)}`, { code: 'E_SHAPE' });
      }
    }
  }
  const maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!Number.isSafeInteger(maxShardBytes) || maxShardBytes <= 0) throw new ModelError(`maxShardBytes must be a positive integer, got ${maxShardBytes}`, { code: 'E_ARGUMENT' });
  const shards = shardWeights(plans, maxShardBytes);

  await mkdir(dirname(dir), { recursive: true });
  const staging = temporaryPathFor(dir);
  await mkdir(staging);
  try {
    await writeSynced(join(staging, CONFIG_FILE), `${JSON.stringify(options.config, null, 2)}\n`);
    if (options.generationConfig) await writeSynced(join(staging, GENERATION_CONFIG_FILE), `${JSON.stringify(options.generationConfig, null, 2)}\n`);
    if (options.tokenizerFrom) {
      const copies = [...TOKENIZER_FILES, ...(options.generationConfig ? [] : [GENERATION_CONFIG_FILE])];
      for (const file of copies) {
        await copyFile(join(options.tokenizerFrom, file), join(staging, file)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'ENOENT') throw error;
        });
      }
    }
    for (const [file, data] of Object.entries(options.files ?? {})) {
      if (file.includes('/') || file.includes('\\') || file.startsWith('.')) throw new ModelError(`files: ${JSON.stringify(file)} must be a plain file name`, { code: 'E_ARGUMENT' });
      await writeSynced(join(staging, file), data);
    }

    const weightFiles: string[] = [];
    const weightMap: Record<string, string> = {};
    let tensorBytes = 0;
    for (let s = 0; s < shards.length; s++) {
      const file = shards.length === 1 ? WEIGHTS_FILE : shardName(s, shards.length);
      const sparse: Record<string, SparseWeightDescription> = {};
      for (const w of shards[s]) if (w.sparse) sparse[w.name] = w.sparse;
      const tensors = shards[s].flatMap((w) => w.tensors);
      await writeStreamed(join(staging, file), tensors, { format: 'pt', ...sparsekitMetadata(sparse) });
      for (const t of tensors) {
        weightMap[t.name] = file;
        tensorBytes += t.byteLength;
      }
      weightFiles.push(file);
    }
    if (shards.length > 1) {
      const index = { metadata: { total_size: tensorBytes }, weight_map: weightMap };
      await writeSynced(join(staging, WEIGHTS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
    }

    if (existing) {
      // Move the old folder aside, the new one in, then delete the old; put it back if the swap fails.
      const trash = temporaryPathFor(dir);
      await rename(dir, trash);
      try {
        await rename(staging, dir);
      } catch (error) {
        await rename(trash, dir).catch(() => undefined);
        throw error;
      }
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(staging, dir);
    }
    return { dir, weightFiles, tensorBytes, sparseWeights: plans.filter((p) => p.sparse).length };
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
}

function isIterable<T>(value: Iterable<T> | object): value is Iterable<T> {
  return typeof (value as Partial<Iterable<T>>)[Symbol.iterator] === 'function';
}

function shapeOf(w: SaveableWeight): readonly number[] {
  if (w instanceof Tensor) return w.shape;
  if ('rows' in w) return [w.rows, w.cols];
  return w.shape;
}

/** model-00001-of-00003.safetensors, as transformers names shards. */
export function shardName(index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, '0');
  return `model-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** Greedy, in order: a new shard when the next weight would push the current one past the limit. */
function shardWeights(plans: readonly PlannedWeight[], maxBytes: number): PlannedWeight[][] {
  const shards: PlannedWeight[][] = [[]];
  let bytes = 0;
  for (const plan of plans) {
    if (bytes > 0 && bytes + plan.byteLength > maxBytes) {
      shards.push([]);
      bytes = 0;
    }
    shards[shards.length - 1].push(plan);
    bytes += plan.byteLength;
  }
  return shards;
}

/**
 * A safetensors file from planned tensors: the header is built from names, dtypes and shapes
 * alone, then each tensor's values are fetched, encoded and written in chunks, so only one
 * tensor's host copy exists at a time. Wide dtypes first, then by name, so every tensor is
 * aligned to its element size (as the reference writer lays files out).
 */
async function writeStreamed(path: string, tensors: readonly PlannedTensor[], metadata: Record<string, string>): Promise<void> {
  const ordered = [...tensors].sort(
    (a, b) => SAFETENSORS_DTYPE_BYTES[b.dtype] - SAFETENSORS_DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  let offset = 0;
  const infos: SafetensorsTensorInfo[] = ordered.map((t) => {
    const info: SafetensorsTensorInfo = { name: t.name, dtype: t.dtype, shape: [...t.shape], dataOffsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
    return info;
  });
  const header = buildSafetensorsHeader(infos, metadata, path);
  const handle = await open(path, 'wx');
  try {
    let position = await writeFully(handle, header, 0);
    for (const t of ordered) {
      const data: SafetensorsTensorData = await t.data();
      const start = position;
      for (const chunk of tensorByteChunks({ name: t.name, dtype: t.dtype, shape: t.shape, data }, path, DEFAULT_WRITE_CHUNK_BYTES)) {
        position = await writeFully(handle, chunk, position);
      }
      if (position - start !== t.byteLength) {
        throw new ModelError(`${path}: tensor ${JSON.stringify(t.name)}: produced ${position - start} bytes, expected ${t.byteLength} for ${t.dtype} ${formatDims(t.shape)}`);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A small file, flushed to disk before the folder is renamed into place. */
async function writeSynced(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<number> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
  return position + written;
}
