/**
 * Loading a Hugging Face model folder (config.json, generation_config.json, tokenizer files,
 * model.safetensors or shards listed in model.safetensors.index.json) into a DecoderConfig and
 * DecoderWeights on a backend. Dense weights of any float dtype are decoded straight into the
 * backend's memory (on the CPU backend into the WebAssembly heap, no host copy; elsewhere one
 * tensor at a time through a host array), sparse weights (docs/sparse-checkpoint.md) into the
 * format classes. Every weight is checked finite while it is decoded. Node only.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CpuBackend } from '../../backends/cpu/cpu-backend.js';
import type { Backend } from '../../core/backend.js';
import { getBackend } from '../../core/engine.js';
import { tensor } from '../../core/ops.js';
import type { Tensor } from '../../core/tensor.js';
import { openSafetensorsFile } from '../../io/node/safetensors-file.js';
import { loadTokenizerIfPresent } from '../../io/node/tokenizer-file.js';
import type { SafetensorsTensorInfo } from '../../io/safetensors-format.js';
import type { SafetensorsReader } from '../../io/safetensors-reader.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { LinearWeight } from '../../sparse/linear.js';
import { type UnstructuredFormatChoice, unstructuredFormatFor } from '../../sparse/unstructured.js';
import { decodeCheckpointLayout, describeSparseFormat, readSparseWeight, type SparseWeightEntry, weightOfPart } from '../checkpoint-layout.js';
import { parseDecoderConfig } from '../config.js';
import type { DecoderConfig } from '../decoder-config.js';
import { createDecoderWeights, type DecoderLayerWeights, type DecoderWeights, type Projection } from '../decoder-weights.js';
import { EMBED_TOKENS, type ExpectedTensor, expectedDecoderTensors, FINAL_NORM, LAYER_PROJECTIONS, layerPrefix, LM_HEAD, projectionHasBias } from '../hf-names.js';
import { formatDims, ModelError, tensorMessage } from '../model-error.js';
import { isFloatDType, readFloatTensorInto } from '../weight-read.js';

export const CONFIG_FILE = 'config.json';
export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

export interface LoadModelFolderOptions {
  /** Where the weights go (default: the current backend, getBackend()). */
  backend?: Backend;
  /** Reserved for lower-precision weights; everything loads as f32 today. */
  dtype?: never;
  /** Reject NaN and infinities in any weight (default true). */
  checkFinite?: boolean;
  /** Load tokenizer.json when present (default true). */
  tokenizer?: boolean;
  /** In-memory format of unstructured sparse weights: 'auto' (default; bitmap up to 60% sparsity, CSR above), 'csr' or 'bitmap'. */
  unstructuredFormat?: UnstructuredFormatChoice;
}

export interface ModelFolderSource {
  /** The weight files read, full paths. */
  files: string[];
  /** Their total size on disk. */
  bytes: number;
  /** How many Linear weights (projections, lm_head) were stored in each format: 'dense', 'csr', 'nm 2:4', 'bsr 16x16' ... */
  formats: Record<string, number>;
  /** Tensors in the files that the model does not use (e.g. rotary inv_freq buffers, a tied lm_head). */
  ignored: string[];
}

export interface LoadedModelFolder {
  config: DecoderConfig;
  weights: DecoderWeights;
  tokenizer: TextTokenizer | null;
  source: ModelFolderSource;
}

/** A stored weight: where it is and how it is stored. */
type Located =
  | { kind: 'dense'; reader: SafetensorsReader; info: SafetensorsTensorInfo }
  | { kind: 'sparse'; reader: SafetensorsReader; entry: SparseWeightEntry };

/** The config of a model folder (config.json + generation_config.json), without touching the weights. */
export async function loadModelConfig(dir: string): Promise<DecoderConfig> {
  await requireFolder(dir);
  const configPath = join(dir, CONFIG_FILE);
  const json = await readJson(configPath, `${dir}: no ${CONFIG_FILE}; a model folder holds ${CONFIG_FILE} and ${WEIGHTS_FILE} (or shards listed in ${WEIGHTS_INDEX_FILE})`);
  const generationConfig = await readJson(join(dir, GENERATION_CONFIG_FILE), null);
  return parseDecoderConfig(json, configPath, generationConfig ?? undefined);
}

export async function loadModelFolder(dir: string, options: LoadModelFolderOptions = {}): Promise<LoadedModelFolder> {
  if (options.unstructuredFormat !== undefined) unstructuredFormatFor(0, options.unstructuredFormat); // rejects an unknown choice up front
  const config = await loadModelConfig(dir);
  const backend = options.backend ?? getBackend();
  const tokenizer = options.tokenizer === false ? null : await loadTokenizerIfPresent(dir);
  const files = await weightFilesOf(dir);
  const readers: SafetensorsReader[] = [];
  const loaded: { dispose(): void }[] = [];
  try {
    for (const file of files.paths) readers.push(await openSafetensorsFile(file));
    const { located, orphans } = locateWeights(readers, files.weightMap, files.indexPath);
    checkLayerCount(located, config, readers.length === 1 ? readers[0].fileName : dir);
    const expected = expectedDecoderTensors(config);
    for (const e of expected) checkExpected(e, located, orphans, dir);

    const formats: Record<string, number> = {};
    const checkFinite = options.checkFinite ?? true;
    const byName = new Map<string, LinearWeight>();
    for (const e of expected) {
      const where = located.get(e.name)!;
      const weight: LinearWeight =
        where.kind === 'dense'
          ? await loadDense(where.reader, where.info, e.shape, backend, checkFinite)
          : await readSparseWeight(where.reader, where.entry, backend, { checkFinite, unstructuredFormat: options.unstructuredFormat });
      if (e.kind === 'linear') {
        const format = where.kind === 'dense' ? 'dense' : describeSparseFormat(where.entry.description);
        formats[format] = (formats[format] ?? 0) + 1;
      }
      loaded.push(weight);
      byName.set(e.name, weight);
    }
    const weights = assemble(config, byName);
    const used = new Set(expected.map((e) => e.name));
    return {
      config,
      weights,
      tokenizer,
      source: {
        files: files.paths,
        bytes: readers.reduce((s, r) => s + r.source.byteLength, 0),
        formats,
        ignored: [...located.keys()].filter((name) => !used.has(name)),
      },
    };
  } catch (error) {
    for (const w of loaded) w.dispose();
    throw error;
  } finally {
    for (const r of readers) await r.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------- files

async function requireFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch {
    throw new ModelError(`${dir}: no such folder`, { code: 'E_NOT_FOUND' });
  }
  if (!info.isDirectory()) throw new ModelError(`${dir}: not a folder; a model is a folder holding ${CONFIG_FILE} and ${WEIGHTS_FILE}`, { code: 'E_NOT_FOUND' });
}

/** Parsed JSON of `path`; when the file does not exist, `missing` (a message to throw, or a value to return). */
async function readJson(path: string, missing: string | null): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (missing === null) return null;
      throw new ModelError(missing, { code: 'E_NOT_FOUND' });
    }
    throw new ModelError(`${path}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ModelError(`${path}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** model.safetensors if present (as transformers prefers it), else the shards of the index. */
async function weightFilesOf(dir: string): Promise<{ paths: string[]; weightMap: Record<string, string> | null; indexPath: string | null }> {
  const single = join(dir, WEIGHTS_FILE);
  if (await exists(single)) return { paths: [single], weightMap: null, indexPath: null };
  const indexPath = join(dir, WEIGHTS_INDEX_FILE);
  const index = await readJson(indexPath, null);
  if (index === null) {
    const legacy = (await exists(join(dir, 'pytorch_model.bin'))) || (await exists(join(dir, 'pytorch_model.bin.index.json')));
    throw new ModelError(
      `${dir}: no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}` +
        (legacy ? '; the folder holds PyTorch pickles (pytorch_model.bin), which sparsekit does not read: convert them to safetensors' : ''),
      { code: 'E_NOT_FOUND' },
    );
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (!weightMap || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new ModelError(`${indexPath}: has no "weight_map" object`);
  }
  const shards = new Set<string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard.length === 0 || shard !== basename(shard)) {
      throw new ModelError(`${indexPath}: weight_map gives ${JSON.stringify(name)} the shard ${JSON.stringify(shard)}; expected a file name in the folder`);
    }
    shards.add(shard);
  }
  if (shards.size === 0) throw new ModelError(`${indexPath}: weight_map is empty`);
  const paths = [...shards].sort().map((s) => join(dir, s));
  for (const p of paths) {
    if (!(await exists(p))) {
      throw new ModelError(`${indexPath}: names the shard ${basename(p)}, which is missing from ${dir}`, { code: 'E_NOT_FOUND' });
    }
  }
  return { paths, weightMap: weightMap as Record<string, string>, indexPath };
}

// ---------------------------------------------------------------- finding and checking weights

function locateWeights(
  readers: readonly SafetensorsReader[],
  weightMap: Record<string, string> | null,
  indexPath: string | null,
): { located: Map<string, Located>; orphans: Map<string, string> } {
  const located = new Map<string, Located>();
  const orphans = new Map<string, string>(); // weight name -> file holding undescribed parts
  const add = (name: string, where: Located) => {
    const previous = located.get(name);
    if (previous) throw new ModelError(`tensor ${JSON.stringify(name)} is stored twice: in ${previous.reader.fileName} and in ${where.reader.fileName}`);
    located.set(name, where);
  };
  for (const reader of readers) {
    const layout = decodeCheckpointLayout(reader.tensors(), reader.metadata, reader.fileName);
    for (const info of layout.dense) add(info.name, { kind: 'dense', reader, info });
    for (const [name, entry] of layout.sparse) add(name, { kind: 'sparse', reader, entry });
    for (const part of layout.orphanParts) orphans.set(weightOfPart(part)!, reader.fileName);
  }
  if (weightMap && indexPath) {
    const byFile = new Map(readers.map((r) => [basename(r.fileName), r]));
    for (const [name, shard] of Object.entries(weightMap)) {
      if (!byFile.get(shard)!.has(name)) {
        throw new ModelError(`${indexPath}: weight_map puts ${JSON.stringify(name)} in ${shard}, which does not hold it`);
      }
    }
  }
  return { located, orphans };
}

/** Tensors of layers the config does not have mean the config and the weights disagree. */
function checkLayerCount(located: ReadonlyMap<string, Located>, config: DecoderConfig, where: string): void {
  let highest = -1;
  let example = '';
  for (const name of located.keys()) {
    const match = /^model\.layers\.(\d+)\./.exec(name);
    if (match && Number(match[1]) > highest) {
      highest = Number(match[1]);
      example = name;
    }
  }
  if (highest >= config.numLayers) {
    throw new ModelError(
      `${where}: holds ${JSON.stringify(example)}, but config.json has num_hidden_layers = ${config.numLayers} (layers 0 to ${config.numLayers - 1}); ` +
        `the weights and the config do not belong together`,
    );
  }
}

function checkExpected(e: ExpectedTensor, located: ReadonlyMap<string, Located>, orphans: ReadonlyMap<string, string>, dir: string): void {
  const where = located.get(e.name);
  if (!where) {
    const orphan = orphans.get(e.name);
    const hint = orphan
      ? `; ${orphan} holds sparse parts of it, but its metadata does not describe them (the "sparsekit" metadata entry is missing or incomplete)`
      : e.name === LM_HEAD
        ? ' (config.json has tie_word_embeddings = false, so lm_head is stored separately)'
        : '';
    throw new ModelError(`${dir}: tensor ${JSON.stringify(e.name)} ${formatDims(e.shape)} is missing from the weights${hint}`, { code: 'E_MISSING_TENSOR' });
  }
  const file = where.reader.fileName;
  if (where.kind === 'sparse') {
    const found = where.entry.description.shape;
    if (e.kind !== 'linear') {
      throw new ModelError(tensorMessage(file, e.name, `is stored sparse (${describeSparseFormat(where.entry.description)}), but only linear projection weights may be; store it dense`));
    }
    if (!sameDims(found, e.shape)) throw shapeError(file, e.name, e.shape, found);
    return;
  }
  const { info } = where;
  if (!isFloatDType(info.dtype)) throw new ModelError(tensorMessage(file, e.name, `dtype ${info.dtype} is not a float type; weights are stored as F32, F16 or BF16`));
  if (!sameDims(info.shape, e.shape)) throw shapeError(file, e.name, e.shape, info.shape);
}

function shapeError(file: string, name: string, expected: readonly number[], found: readonly number[]): ModelError {
  return new ModelError(tensorMessage(file, name, `shape ${formatDims(found)} does not match config.json, which implies ${formatDims(expected)}`), { code: 'E_SHAPE' });
}

// ---------------------------------------------------------------- loading

/**
 * A dense float tensor decoded onto the backend. On the CPU backend the values are decoded into
 * the tensor's own heap memory, chunk by chunk; elsewhere into one host array, then uploaded.
 */
async function loadDense(reader: SafetensorsReader, info: SafetensorsTensorInfo, shape: readonly number[], backend: Backend, checkFinite: boolean): Promise<Tensor> {
  if (backend instanceof CpuBackend) {
    const t = backend.empty(shape, 'f32');
    try {
      await readFloatTensorInto(reader, info, () => backend.view(t), { checkFinite });
    } catch (error) {
      t.dispose();
      throw error;
    }
    return t;
  }
  const host = new Float32Array(shape.reduce((a, b) => a * b, 1));
  await readFloatTensorInto(reader, info, host, { checkFinite });
  return tensor(host, shape, 'f32', backend);
}

function assemble(config: DecoderConfig, byName: ReadonlyMap<string, LinearWeight>): DecoderWeights {
  const dense = (name: string) => byName.get(name) as Tensor;
  const layers: DecoderLayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = layerPrefix(i);
    const projections = {} as Record<(typeof LAYER_PROJECTIONS)[number][0], Projection>;
    for (const [key, module] of LAYER_PROJECTIONS) {
      projections[key] = {
        weight: byName.get(`${p}.${module}.weight`)!,
        bias: projectionHasBias(config, key) ? dense(`${p}.${module}.bias`) : null,
      };
    }
    layers.push({
      inputNorm: dense(`${p}.input_layernorm.weight`),
      postAttentionNorm: dense(`${p}.post_attention_layernorm.weight`),
      ...projections,
    });
  }
  const embedTokens = dense(EMBED_TOKENS);
  return createDecoderWeights({
    embedTokens,
    layers,
    finalNorm: dense(FINAL_NORM),
    lmHead: config.tieWordEmbeddings ? embedTokens : byName.get(LM_HEAD)!,
  });
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
