/**
 * The sparse weight layout of docs/sparse-checkpoint.md: a sparse Linear weight `P` is stored as
 * its format's parts (`P.csr.row_ptr`, `P.nm.values`, ...) plus an entry in the file's
 * `__metadata__["sparsekit"]` JSON that names its format and logical shape. This module turns
 * weights into tensor entries + metadata (writing) and a file's tensor list + metadata back into
 * which weights are sparse and where their parts are (reading), and builds the format classes
 * from a reader. Browser-safe.
 */
import type { Backend } from '../core/backend.js';
import type { DType, TypedArray } from '../core/dtype.js';
import { nmIndexRowBytes } from '../core/sparse-layout.js';
import { Tensor } from '../core/tensor.js';
import type { SafetensorsTensorData, SafetensorsTensorInput } from '../io/safetensors-encode.js';
import { elementCount, SAFETENSORS_DTYPE_BYTES, type SafetensorsDType, type SafetensorsTensorInfo } from '../io/safetensors-format.js';
import type { SafetensorsReader } from '../io/safetensors-reader.js';
import { BitmapMatrix } from '../sparse/bitmap.js';
import { BsrMatrix } from '../sparse/bsr.js';
import { checkedCsrArrays, CSR_U16_MAX_COLS, CsrMatrix } from '../sparse/csr.js';
import type { LinearWeight, SparseWeight } from '../sparse/linear.js';
import { NmMatrix } from '../sparse/nm.js';
import { MAX_NM_GROUP } from '../sparse/pattern.js';
import { bitmapRowBytes, bitmapRowPointers, csrFromBitmap, csrToBitmap } from '../sparse/bitmap-encoding.js';
import { type UnstructuredFormatChoice, unstructuredFormatFor } from '../sparse/unstructured.js';
import { formatDims, ModelError, tensorMessage } from './model-error.js';
import { isFloatDType, readFloatTensorInto } from './weight-read.js';

/** The `__metadata__` key that holds the layout's JSON. */
export const SPARSEKIT_METADATA_KEY = 'sparsekit';
export const SPARSE_LAYOUT_VERSION = 1;

/** Stored dtypes of float values: F32 by default, F16/BF16 to halve the file. */
export type ValuesDType = 'F32' | 'F16' | 'BF16';
export const VALUES_DTYPES: readonly ValuesDType[] = ['F32', 'F16', 'BF16'];

/**
 * Formats on disk. 'csr' and 'bitmap' hold the same unstructured weights (positions as column
 * indices or as one bit per weight); either loads as a CsrMatrix or a BitmapMatrix, whichever
 * runs faster at its sparsity (SparseReadOptions.unstructuredFormat).
 */
export type SparseFormat = 'csr' | 'bitmap' | 'nm' | 'bsr';

/** One sparse weight's entry in the metadata's "tensors" map. `block` is [blockRows, blockCols]. */
export type SparseWeightDescription =
  | { readonly format: 'csr'; readonly shape: readonly [number, number] }
  | { readonly format: 'bitmap'; readonly shape: readonly [number, number] }
  | { readonly format: 'nm'; readonly shape: readonly [number, number]; readonly n: number; readonly m: number }
  | { readonly format: 'bsr'; readonly shape: readonly [number, number]; readonly block: readonly [number, number] };

export interface SparsekitMetadata {
  readonly version: number;
  readonly tensors: Readonly<Record<string, SparseWeightDescription>>;
}

/** The parts of each format, in the order of the spec's table. */
export const SPARSE_PARTS = {
  csr: ['row_ptr', 'col_indices', 'values'],
  bitmap: ['mask', 'values'],
  nm: ['values', 'indices'],
  bsr: ['block_row_ptr', 'block_col_indices', 'values'],
} as const satisfies Record<SparseFormat, readonly string[]>;

/** `P.format.part`, the stored name of a part. */
export function partName(weight: string, format: SparseFormat, part: string): string {
  return `${weight}.${format}.${part}`;
}

const PART_NAME = /^(.+)\.(csr|bitmap|nm|bsr)\.(row_ptr|col_indices|values|mask|indices|block_row_ptr|block_col_indices)$/;

/** 'csr', 'bitmap', 'nm 2:4', 'bsr 16x16' (blockRows x blockCols): how inspect and messages name a format. */
export function describeSparseFormat(d: SparseWeightDescription): string {
  if (d.format === 'nm') return `nm ${d.n}:${d.m}`;
  if (d.format === 'bsr') return `bsr ${d.block[0]}x${d.block[1]}`;
  return d.format;
}

export function describeWeightFormat(weight: LinearWeight): string {
  if (weight instanceof Tensor) return 'dense';
  return describeSparseFormat(describeSparseWeight(weight));
}

/** The metadata description of an in-memory sparse weight. */
export function describeSparseWeight(weight: SparseWeight): SparseWeightDescription {
  const shape = [weight.rows, weight.cols] as const;
  if (weight instanceof CsrMatrix) return { format: 'csr', shape };
  if (weight instanceof BitmapMatrix) return { format: 'bitmap', shape };
  if (weight instanceof NmMatrix) return { format: 'nm', shape, n: weight.n, m: weight.m };
  if (weight instanceof BsrMatrix) return { format: 'bsr', shape, block: [weight.blockRows, weight.blockCols] };
  throw new ModelError(`describeSparseWeight: ${String(weight)} is not a CsrMatrix, BitmapMatrix, NmMatrix or BsrMatrix`, { code: 'E_ARGUMENT' });
}

// ================================================================ writing

/** A dense f32 weight held on the host (no backend needed), e.g. freshly generated values. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What can be written: a dense tensor, a sparse matrix, or dense host values. */
export type SaveableWeight = LinearWeight | HostTensor;

export interface WeightEncodeOptions {
  /** Dtype of stored float values (dense float tensors and sparse values alike). Default F32. */
  valuesDType?: ValuesDType;
  /** Write sparse weights as plain zero-filled dense tensors (for runtimes without this layout). */
  storeDense?: boolean;
  /**
   * How CSR weights are stored: 'auto' (default) picks whichever of 'csr' (row pointers and
   * column indices) and 'bitmap' (one bit per weight) takes fewer bytes.
   */
  csrEncoding?: 'auto' | 'csr' | 'bitmap';
}

/** One tensor to write, its bytes fetched only when `data()` is called (so writers can stream). */
export interface PlannedTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  data(): Promise<SafetensorsTensorData>;
}

/** A weight as written: its tensors (the weight itself, or its parts) and its metadata entry. */
export interface PlannedWeight {
  readonly name: string;
  readonly tensors: readonly PlannedTensor[];
  /** The "tensors" entry for the sparsekit metadata; null for weights stored dense. */
  readonly sparse: SparseWeightDescription | null;
  readonly byteLength: number;
}

const STORED_DTYPE_OF: Readonly<Record<DType, SafetensorsDType>> = { f32: 'F32', i32: 'I32', u16: 'U16', u8: 'U8', bool: 'BOOL' };

function planned(name: string, dtype: SafetensorsDType, shape: readonly number[], data: () => Promise<SafetensorsTensorData>): PlannedTensor {
  return { name, dtype, shape: [...shape], byteLength: elementCount(shape) * SAFETENSORS_DTYPE_BYTES[dtype], data };
}

function isHostTensor(weight: SaveableWeight): weight is HostTensor {
  return !(weight instanceof Tensor) && !(weight instanceof CsrMatrix) && !(weight instanceof BitmapMatrix) && !(weight instanceof NmMatrix) && !(weight instanceof BsrMatrix);
}

/** A tensor part's values as the writer takes them (a fresh host copy). */
function partData(t: Tensor): () => Promise<SafetensorsTensorData> {
  return async () => (await t.read()) as SafetensorsTensorData;
}

/**
 * The tensors `weight` is written as under `name`, without reading any values yet: a dense tensor
 * as itself (floats in `valuesDType`), a sparse matrix as its parts per docs/sparse-checkpoint.md
 * (or one dense tensor with `storeDense`).
 */
export function planWeight(name: string, weight: SaveableWeight, options: WeightEncodeOptions = {}): PlannedWeight {
  const values = options.valuesDType ?? 'F32';
  if (!VALUES_DTYPES.includes(values)) throw new ModelError(`valuesDType must be one of ${VALUES_DTYPES.join(', ')}, got ${String(values)}`, { code: 'E_ARGUMENT' });
  const floatOr = (dtype: DType): SafetensorsDType => (dtype === 'f32' ? values : STORED_DTYPE_OF[dtype]);
  const done = (tensors: PlannedTensor[], sparse: SparseWeightDescription | null): PlannedWeight => ({
    name,
    tensors,
    sparse,
    byteLength: tensors.reduce((s, t) => s + t.byteLength, 0),
  });

  if (isHostTensor(weight)) {
    if (!(weight.data instanceof Float32Array) || elementCount(weight.shape) !== weight.data.length) {
      throw new ModelError(`${name}: host values must be a Float32Array of ${elementCount(weight.shape)} elements for shape ${formatDims(weight.shape)}`, { code: 'E_ARGUMENT' });
    }
    return done([planned(name, values, weight.shape, () => Promise.resolve(weight.data))], null);
  }
  if (weight instanceof Tensor) {
    if (weight.disposed) throw new ModelError(`${name}: the tensor was disposed`, { code: 'E_ARGUMENT' });
    return done([planned(name, floatOr(weight.dtype), weight.shape, partData(weight))], null);
  }
  if (weight.disposed) throw new ModelError(`${name}: the ${describeWeightFormat(weight)} weight was disposed`, { code: 'E_ARGUMENT' });
  if (options.storeDense) {
    return done([planned(name, values, [weight.rows, weight.cols], () => weight.toDense())], null);
  }
  if (weight instanceof CsrMatrix && csrEncodingOf(weight, options.csrEncoding ?? 'auto') === 'bitmap') {
    const part = (p: string) => partName(name, 'bitmap', p);
    return done(
      [
        planned(part('mask'), 'U8', [weight.rows, bitmapRowBytes(weight.cols)], async () => csrToBitmap(await weight.readArrays())),
        planned(part('values'), values, weight.values.shape, partData(weight.values)),
      ],
      { format: 'bitmap', shape: [weight.rows, weight.cols] },
    );
  }
  const description = describeSparseWeight(weight);
  const part = (p: string) => partName(name, description.format, p);
  if (weight instanceof BitmapMatrix) {
    return done(
      [
        planned(part('mask'), 'U8', weight.mask.shape, partData(weight.mask)),
        planned(part('values'), values, weight.values.shape, partData(weight.values)),
      ],
      description,
    );
  }
  if (weight instanceof CsrMatrix) {
    return done(
      [
        planned(part('row_ptr'), 'I32', weight.rowPtr.shape, partData(weight.rowPtr)),
        planned(part('col_indices'), STORED_DTYPE_OF[weight.colIndices.dtype], weight.colIndices.shape, partData(weight.colIndices)),
        planned(part('values'), values, weight.values.shape, partData(weight.values)),
      ],
      description,
    );
  }
  if (weight instanceof NmMatrix) {
    return done(
      [
        planned(part('values'), values, weight.values.shape, partData(weight.values)),
        planned(part('indices'), 'U8', weight.indices.shape, partData(weight.indices)),
      ],
      description,
    );
  }
  const bsr = weight as BsrMatrix;
  return done(
    [
      planned(part('block_row_ptr'), 'I32', bsr.blockRowPtr.shape, partData(bsr.blockRowPtr)),
      planned(part('block_col_indices'), 'I32', bsr.blockColIndices.shape, partData(bsr.blockColIndices)),
      planned(part('values'), values, bsr.values.shape, partData(bsr.values)),
    ],
    description,
  );
}

/** 'bitmap' when its mask takes fewer bytes than CSR's row pointers and column indices (ties stay CSR; the values are the same either way). */
function csrEncodingOf(weight: CsrMatrix, choice: 'auto' | 'csr' | 'bitmap'): 'csr' | 'bitmap' {
  if (choice !== 'auto') {
    if (choice !== 'csr' && choice !== 'bitmap') throw new ModelError(`csrEncoding must be 'auto', 'csr' or 'bitmap', got ${String(choice)}`, { code: 'E_ARGUMENT' });
    return choice;
  }
  const indexBytes = SAFETENSORS_DTYPE_BYTES[STORED_DTYPE_OF[weight.colIndices.dtype]];
  const csrBytes = (weight.rows + 1) * 4 + weight.nnz * indexBytes;
  const bitmapBytes = weight.rows * bitmapRowBytes(weight.cols);
  return bitmapBytes < csrBytes ? 'bitmap' : 'csr';
}

/** planWeight with the values read: entries ready for encodeSafetensors / writeSafetensorsFile. */
export async function encodeWeight(
  name: string,
  weight: SaveableWeight,
  options: WeightEncodeOptions = {},
): Promise<{ tensors: SafetensorsTensorInput[]; sparse: SparseWeightDescription | null }> {
  const plan = planWeight(name, weight, options);
  const tensors: SafetensorsTensorInput[] = [];
  for (const t of plan.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: t.shape, data: await t.data() });
  return { tensors, sparse: plan.sparse };
}

/** The metadata entry describing `sparse` weights ({} when there are none, so dense files stay plain). */
export function sparsekitMetadata(sparse: Readonly<Record<string, SparseWeightDescription>>): Record<string, string> {
  const names = Object.keys(sparse);
  if (names.length === 0) return {};
  const tensors: Record<string, SparseWeightDescription> = {};
  for (const name of names) tensors[name] = sparse[name];
  return { [SPARSEKIT_METADATA_KEY]: JSON.stringify({ version: SPARSE_LAYOUT_VERSION, tensors }) };
}

/**
 * Every weight encoded for one file: tensor entries and metadata (`format: pt` as transformers
 * writes, plus the sparsekit entry), e.g. for encodeSafetensors in a browser.
 */
export async function encodeWeights(
  weights: Iterable<readonly [string, SaveableWeight]>,
  options: WeightEncodeOptions = {},
): Promise<{ tensors: SafetensorsTensorInput[]; metadata: Record<string, string> }> {
  const tensors: SafetensorsTensorInput[] = [];
  const sparse: Record<string, SparseWeightDescription> = {};
  for (const [name, weight] of weights) {
    const encoded = await encodeWeight(name, weight, options);
    tensors.push(...encoded.tensors);
    if (encoded.sparse) sparse[name] = encoded.sparse;
  }
  return { tensors, metadata: { format: 'pt', ...sparsekitMetadata(sparse) } };
}

// ================================================================ reading

/** A sparse weight found in a file: its description and its parts' tensor infos by part name. */
export interface SparseWeightEntry {
  readonly name: string;
  readonly description: SparseWeightDescription;
  /** Part tensor infos by part name ('row_ptr', 'values' ...), in the order of SPARSE_PARTS. */
  readonly parts: Readonly<Record<string, SafetensorsTensorInfo>>;
  /** Stored bytes of all parts. */
  readonly byteLength: number;
  /** The stored dtype of the values part. */
  readonly valuesDType: SafetensorsDType;
}

export interface CheckpointLayout {
  /** Sparse weights by logical name. */
  readonly sparse: ReadonlyMap<string, SparseWeightEntry>;
  /** Every other tensor, in file order. */
  readonly dense: readonly SafetensorsTensorInfo[];
  /**
   * Tensors named like parts (`X.csr.values` ...) that no metadata entry claims; they stay in
   * `dense` too. A loader missing `X` can say its parts are there but undescribed.
   */
  readonly orphanParts: readonly string[];
}

/**
 * The file's "sparsekit" metadata, validated; null when it has none. Throws ModelError naming the
 * file for malformed JSON, an unknown version or a malformed entry.
 */
export function parseSparsekitMetadata(metadata: Readonly<Record<string, string>>, fileName: string): SparsekitMetadata | null {
  const text = metadata[SPARSEKIT_METADATA_KEY];
  if (text === undefined) return null;
  const fail = (detail: string): never => {
    throw new ModelError(`${fileName}: metadata "${SPARSEKIT_METADATA_KEY}": ${detail}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(json)) return fail('expected a JSON object');
  if (json.version !== SPARSE_LAYOUT_VERSION) {
    fail(`layout version ${JSON.stringify(json.version)} is not supported (this sparsekit reads version ${SPARSE_LAYOUT_VERSION}${typeof json.version === 'number' && json.version > SPARSE_LAYOUT_VERSION ? '; the file was written by a newer sparsekit' : ''})`);
  }
  if (!isObject(json.tensors)) return fail('has no "tensors" object');
  const tensors: Record<string, SparseWeightDescription> = {};
  for (const [name, entry] of Object.entries(json.tensors)) tensors[name] = parseDescription(name, entry, fail);
  return { version: json.version as number, tensors };
}

function parseDescription(name: string, entry: unknown, fail: (detail: string) => never): SparseWeightDescription {
  const bad = (detail: string): never => fail(`tensor ${JSON.stringify(name)}: ${detail}`);
  if (!isObject(entry)) return bad('expected an object with "format" and "shape"');
  const shape = entry.shape;
  if (!Array.isArray(shape) || shape.length !== 2 || !shape.every(isNonNegativeInt)) {
    return bad(`"shape" must be [rows, cols] of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  const [rows, cols] = shape as [number, number];
  switch (entry.format) {
    case 'csr':
      return { format: 'csr', shape: [rows, cols] };
    case 'bitmap':
      return { format: 'bitmap', shape: [rows, cols] };
    case 'nm': {
      const { n, m } = entry;
      if (!isNonNegativeInt(n) || !isNonNegativeInt(m) || (n as number) < 1 || (n as number) >= (m as number) || (m as number) > MAX_NM_GROUP) {
        return bad(`"n" and "m" must be integers with 1 <= n < m <= ${MAX_NM_GROUP}, got n=${JSON.stringify(n)}, m=${JSON.stringify(m)}`);
      }
      if (cols % (m as number) !== 0) return bad(`cols ${cols} is not a multiple of m=${m as number}`);
      return { format: 'nm', shape: [rows, cols], n: n as number, m: m as number };
    }
    case 'bsr': {
      const block = entry.block;
      if (!Array.isArray(block) || block.length !== 2 || !block.every((b) => isNonNegativeInt(b) && b > 0)) {
        return bad(`"block" must be [blockRows, blockCols] of positive integers, got ${JSON.stringify(block)}`);
      }
      const [br, bc] = block as [number, number];
      if (rows % br !== 0 || cols % bc !== 0) return bad(`shape [${rows}, ${cols}] does not divide into ${br} x ${bc} blocks`);
      return { format: 'bsr', shape: [rows, cols], block: [br, bc] };
    }
    default:
      return bad(`unknown format ${JSON.stringify(entry.format)}; expected "csr", "bitmap", "nm" or "bsr"`);
  }
}

/**
 * Splits a file's tensors into sparse weights (per its metadata) and the rest, checking that each
 * described weight has all its parts with the dtypes and shapes the layout prescribes.
 */
export function decodeCheckpointLayout(
  tensors: readonly SafetensorsTensorInfo[],
  metadata: Readonly<Record<string, string>>,
  fileName: string,
): CheckpointLayout {
  const parsed = parseSparsekitMetadata(metadata, fileName);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const claimed = new Set<string>();
  const sparse = new Map<string, SparseWeightEntry>();
  for (const [name, description] of Object.entries(parsed?.tensors ?? {})) {
    if (byName.has(name)) {
      throw new ModelError(tensorMessage(fileName, name, 'is stored both as a plain tensor and, per the sparsekit metadata, as sparse parts'));
    }
    const entry = checkParts(name, description, byName, fileName);
    for (const info of Object.values(entry.parts)) claimed.add(info.name);
    sparse.set(name, entry);
  }
  const dense = tensors.filter((t) => !claimed.has(t.name));
  const orphanParts = dense.filter((t) => PART_NAME.test(t.name)).map((t) => t.name);
  return { sparse, dense, orphanParts };
}

/** The weight name `X` of a part name `X.csr.values` (null when the name is not a part's). */
export function weightOfPart(name: string): string | null {
  return PART_NAME.exec(name)?.[1] ?? null;
}

function checkParts(
  name: string,
  d: SparseWeightDescription,
  byName: ReadonlyMap<string, SafetensorsTensorInfo>,
  fileName: string,
): SparseWeightEntry {
  const [rows, cols] = d.shape;
  const parts: Record<string, SafetensorsTensorInfo> = {};
  const where = `${describeSparseFormat(d)} weight ${JSON.stringify(name)} ${formatDims(d.shape)}`;
  const get = (part: string, dtypes: readonly SafetensorsDType[], shape: readonly number[] | null): SafetensorsTensorInfo => {
    const full = partName(name, d.format, part);
    const info = byName.get(full);
    if (!info) throw new ModelError(`${fileName}: ${where}: part ${JSON.stringify(full)} is missing (all parts of a sparse weight sit in the shard whose metadata describes it)`);
    if (!dtypes.includes(info.dtype)) {
      throw new ModelError(tensorMessage(fileName, full, `dtype ${info.dtype}; the ${d.format} layout stores it as ${dtypes.join(' or ')}`));
    }
    if (shape && !sameDims(info.shape, shape)) {
      throw new ModelError(tensorMessage(fileName, full, `shape ${formatDims(info.shape)}, expected ${formatDims(shape)} for the ${where}`));
    }
    parts[part] = info;
    return info;
  };
  const floats: readonly SafetensorsDType[] = VALUES_DTYPES;
  let values: SafetensorsTensorInfo;
  if (d.format === 'csr') {
    get('row_ptr', ['I32'], [rows + 1]);
    values = get('values', floats, null);
    if (values.shape.length !== 1) throw new ModelError(tensorMessage(fileName, values.name, `shape ${formatDims(values.shape)}, expected [nnz]`));
    const nnz = values.shape[0];
    get('col_indices', cols <= CSR_U16_MAX_COLS ? ['U16', 'I32'] : ['I32'], [nnz]);
  } else if (d.format === 'bitmap') {
    get('mask', ['U8'], [rows, bitmapRowBytes(cols)]);
    values = get('values', floats, null);
    if (values.shape.length !== 1) throw new ModelError(tensorMessage(fileName, values.name, `shape ${formatDims(values.shape)}, expected [nnz]`));
  } else if (d.format === 'nm') {
    values = get('values', floats, [rows, (cols / d.m) * d.n]);
    get('indices', ['U8'], [rows, nmIndexRowBytes(cols, d.n, d.m)]);
  } else {
    const [br, bc] = d.block;
    get('block_row_ptr', ['I32'], [rows / br + 1]);
    values = get('values', floats, null);
    if (values.shape.length !== 3 || values.shape[1] !== bc || values.shape[2] !== br) {
      throw new ModelError(tensorMessage(fileName, values.name, `shape ${formatDims(values.shape)}, expected [nnzBlocks, ${bc}, ${br}] for the ${where}`));
    }
    get('block_col_indices', ['I32'], [values.shape[0]]);
  }
  const ordered: Record<string, SafetensorsTensorInfo> = {};
  for (const part of SPARSE_PARTS[d.format]) ordered[part] = parts[part];
  const byteLength = Object.values(ordered).reduce((s, p) => s + (p.dataOffsets[1] - p.dataOffsets[0]), 0);
  return { name, description: d, parts: ordered, byteLength, valuesDType: values.dtype };
}

export interface SparseReadOptions {
  /** Reject NaN and infinities among the values (default true). */
  checkFinite?: boolean;
  chunkBytes?: number;
  /** In-memory format of unstructured weights (stored 'csr' or 'bitmap'); 'auto' (default) picks by sparsity. */
  unstructuredFormat?: UnstructuredFormatChoice;
}

/**
 * Builds the format class of a sparse weight from its parts (values of any float dtype decoded to
 * f32, checked finite chunk by chunk); fromParts validates the structure. Errors name the file
 * and the weight.
 */
export async function readSparseWeight(
  reader: SafetensorsReader,
  entry: SparseWeightEntry,
  backend: Backend,
  options: SparseReadOptions = {},
): Promise<SparseWeight> {
  const { description: d, parts } = entry;
  const [rows, cols] = d.shape;
  const valuesInfo = parts.values;
  if (!isFloatDType(valuesInfo.dtype)) throw new ModelError(tensorMessage(reader.fileName, valuesInfo.name, `dtype ${valuesInfo.dtype} is not a float type`));
  const values = new Float32Array(elementCount(valuesInfo.shape));
  await readFloatTensorInto(reader, valuesInfo, values, options);
  const read = async (part: string): Promise<TypedArray> => (await reader.read(parts[part].name, { chunkBytes: options.chunkBytes })).data;
  // Outside the try below: a bad choice is the caller's error, not the file's.
  const wanted = d.format === 'csr' || d.format === 'bitmap' ? unstructuredFormatFor(rows * cols === 0 ? 0 : 1 - values.length / (rows * cols), options.unstructuredFormat) : null;
  try {
    switch (d.format) {
      case 'csr': {
        const rowPtr = await read('row_ptr');
        const colIndices = await read('col_indices');
        if (wanted === 'csr') return CsrMatrix.fromParts(rows, cols, rowPtr, colIndices, values, backend);
        // Checked as CSR on the host, then uploaded once, as a bitmap.
        const arrays = checkedCsrArrays(rows, cols, rowPtr, colIndices, values);
        return BitmapMatrix.fromParts(rows, cols, csrToBitmap(arrays), arrays.values, backend);
      }
      case 'bitmap': {
        const mask = (await read('mask')) as Uint8Array;
        const kept = bitmapRowPointers(rows, cols, mask, 'mask')[rows];
        if (kept !== values.length) throw new ModelError(`${reader.fileName}: bitmap weight ${JSON.stringify(entry.name)}: the mask marks ${kept} weights but there are ${values.length} values`);
        if (wanted === 'bitmap') return BitmapMatrix.fromParts(rows, cols, mask, values, backend);
        const { rowPtr, colIndices } = csrFromBitmap(rows, cols, mask, 'mask');
        return CsrMatrix.fromParts(rows, cols, rowPtr, colIndices, values, backend);
      }
      case 'nm':
        return NmMatrix.fromParts(rows, cols, d.n, d.m, values, (await read('indices')) as Uint8Array, backend);
      case 'bsr':
        return BsrMatrix.fromParts(rows, cols, d.block[0], d.block[1], await read('block_row_ptr'), await read('block_col_indices'), values, backend);
    }
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(`${reader.fileName}: ${describeSparseFormat(d)} weight ${JSON.stringify(entry.name)}: invalid parts: ${(error as Error).message}`, { cause: error });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
