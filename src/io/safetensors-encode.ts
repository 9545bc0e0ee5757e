/**
 * Building safetensors files: validating what callers want to write, laying tensors out,
 * serializing the header, and producing each tensor's little-endian bytes in bounded chunks
 * so writers can stream multi-gigabyte files without one concatenated buffer.
 * Browser-safe; the Node file writer is io/node/safetensors-file.ts.
 */
import { ArgumentError } from '../core/errors.js';
import { f32BitsToBf16Bits, f32BitsToF16Bits } from './float-bits.js';
import { HOST_IS_LITTLE_ENDIAN } from './safetensors-decode.js';
import { SafetensorsError } from './safetensors-error.js';
import {
  HEADER_LENGTH_PREFIX_BYTES,
  MAX_HEADER_BYTES,
  SAFETENSORS_DTYPE_BYTES,
  SAFETENSORS_DTYPES,
  elementCount,
  isSafetensorsDType,
  type SafetensorsDType,
  type SafetensorsTensorInfo,
} from './safetensors-format.js';

/**
 * Tensor data to write. A Uint8Array is always the raw little-endian bytes (for 1-byte dtypes that
 * is the same as the values). Otherwise the typed array must match the dtype: Float64Array for F64,
 * Float32Array for F32, BigInt64Array for I64, Int32Array for I32 ... For F16 and BF16 either a
 * Float32Array (encoded with round-to-nearest-even) or a Uint16Array of raw bit patterns.
 */
export type SafetensorsTensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Uint16Array
  | Int8Array
  | Uint8Array;

export interface SafetensorsTensorInput {
  name: string;
  dtype: SafetensorsDType;
  shape: readonly number[];
  data: SafetensorsTensorData;
}

/** Everything a writer needs, decided and validated before the first byte is written. */
export interface SafetensorsFilePlan {
  /** The 8-byte header length followed by the space-padded JSON header. */
  headerBytes: Uint8Array;
  /** Tensors in the order their bytes follow the header. */
  entries: Array<{ info: SafetensorsTensorInfo; input: SafetensorsTensorInput }>;
  fileByteLength: number;
}

export const DEFAULT_WRITE_CHUNK_BYTES = 16 * 1024 * 1024;

/** The typed array (besides raw Uint8Array bytes) each dtype accepts. */
const DATA_TYPE_FOR: Readonly<Record<SafetensorsDType, readonly { readonly name: string; [Symbol.hasInstance](value: unknown): boolean }[]>> = {
  F64: [Float64Array],
  F32: [Float32Array],
  F16: [Float32Array, Uint16Array],
  BF16: [Float32Array, Uint16Array],
  I64: [BigInt64Array],
  I32: [Int32Array],
  I16: [Int16Array],
  I8: [Int8Array],
  U64: [BigUint64Array],
  U32: [Uint32Array],
  U16: [Uint16Array],
  U8: [],
  BOOL: [],
  F8_E4M3: [],
  F8_E5M2: [],
};

/**
 * Order of the reference writer (safetensors/src/tensor.rs `prepare`): descending position in its
 * Dtype enum, then name. That keeps wide elements first, so with the 8-byte-padded header every
 * tensor is naturally aligned in the file, and it makes our bytes identical to Python's.
 */
const REFERENCE_DTYPE_RANK: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 0, U8: 4, I8: 5, F8_E5M2: 6, F8_E4M3: 7, I16: 11, U16: 12, F16: 13, BF16: 14,
  I32: 15, U32: 16, F32: 17, F64: 19, I64: 20, U64: 21,
};

/** Encodes f32 values as little-endian F32, F16 or BF16 bytes, rounding to nearest, ties to even. */
export function encodeFromF32(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array<ArrayBuffer> {
  assertLittleEndianHost('(encodeFromF32)');
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const encoded = new Uint16Array(values.length);
  const convert = dtype === 'F16' ? f32BitsToF16Bits : f32BitsToBf16Bits;
  for (let i = 0; i < bits.length; i++) encoded[i] = convert(bits[i]);
  return new Uint8Array(encoded.buffer);
}

/** Validates `tensors` and `metadata` and lays out the file; throws SafetensorsError naming `fileName`. */
export function planSafetensorsFile(
  tensors: readonly SafetensorsTensorInput[],
  metadata: Readonly<Record<string, string>> | undefined,
  fileName: string,
): SafetensorsFilePlan {
  assertLittleEndianHost(fileName);
  const seen = new Set<string>();
  for (const input of tensors) {
    checkTensorInput(input, fileName);
    if (seen.has(input.name)) throw new SafetensorsError(fileName, 'appears twice; tensor names must be unique', { tensor: input.name });
    seen.add(input.name);
  }
  if (metadata !== undefined) checkMetadata(metadata, fileName);

  const encoder = new TextEncoder();
  const nameBytes = new Map(tensors.map((input) => [input.name, encoder.encode(input.name)]));
  const ordered = [...tensors].sort(
    (a, b) =>
      REFERENCE_DTYPE_RANK[b.dtype] - REFERENCE_DTYPE_RANK[a.dtype] ||
      compareBytes(nameBytes.get(a.name)!, nameBytes.get(b.name)!),
  );
  let offset = 0;
  const entries = ordered.map((input) => {
    const size = elementCount(input.shape) * SAFETENSORS_DTYPE_BYTES[input.dtype];
    const info: SafetensorsTensorInfo = { name: input.name, dtype: input.dtype, shape: [...input.shape], dataOffsets: [offset, offset + size] };
    offset += size;
    return { info, input };
  });
  const headerBytes = buildSafetensorsHeader(entries.map((entry) => entry.info), metadata, fileName);
  return { headerBytes, entries, fileByteLength: headerBytes.length + offset };
}

/**
 * The 8-byte length prefix plus the JSON header for tensors already laid out in data order.
 * Keys are written in the reference order ("__metadata__" first, then tensors by offset), built by
 * hand because a JS object would move integer-like names such as "0" to the front.
 * The JSON is padded with spaces to a multiple of 8 bytes, as the reference writer does, so the
 * data section starts 8-byte aligned.
 */
export function buildSafetensorsHeader(
  tensors: readonly SafetensorsTensorInfo[],
  metadata: Readonly<Record<string, string>> | undefined,
  fileName = '(in-memory safetensors)',
): Uint8Array<ArrayBuffer> {
  const members: string[] = [];
  if (metadata !== undefined) {
    const pairs = Object.entries(metadata).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`);
    members.push(`"__metadata__":{${pairs.join(',')}}`);
  }
  for (const { name, dtype, shape, dataOffsets } of tensors) {
    members.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${dataOffsets[0]},${dataOffsets[1]}]}`);
  }
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const paddedLength = Math.ceil(json.length / 8) * 8;
  if (paddedLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(fileName, `header would be ${paddedLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit of the format`);
  }
  const bytes = new Uint8Array(HEADER_LENGTH_PREFIX_BYTES + paddedLength).fill(0x20, HEADER_LENGTH_PREFIX_BYTES);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(paddedLength), true);
  bytes.set(json, HEADER_LENGTH_PREFIX_BYTES);
  return bytes;
}

/**
 * A tensor's stored bytes in pieces of at most about `chunkBytes`. Raw and matching typed arrays
 * yield views (no copy); F16/BF16 from f32 are encoded one chunk at a time. BOOL bytes are checked
 * to be 0 or 1 as they stream, so a bad value can surface mid-write (writers must clean up).
 */
export function* tensorByteChunks(
  input: SafetensorsTensorInput,
  fileName: string,
  chunkBytes = DEFAULT_WRITE_CHUNK_BYTES,
): Generator<Uint8Array> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) {
    throw new ArgumentError(`chunkBytes must be a positive integer; got ${chunkBytes}`);
  }
  const width = SAFETENSORS_DTYPE_BYTES[input.dtype];
  const chunkElements = Math.max(1, Math.floor(chunkBytes / width));
  const { data } = input;
  if (data instanceof Float32Array && (input.dtype === 'F16' || input.dtype === 'BF16')) {
    for (let start = 0; start < data.length; start += chunkElements) {
      yield encodeFromF32(data.subarray(start, start + chunkElements), input.dtype);
    }
    return;
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const step = chunkElements * width;
  for (let start = 0; start < bytes.length; start += step) {
    const chunk = bytes.subarray(start, start + step);
    if (input.dtype === 'BOOL') checkBoolBytes(chunk, start, input.name, fileName);
    yield chunk;
  }
}

/** A whole safetensors file in memory (for browsers, downloads and tests; large files should stream). */
export function encodeSafetensors(
  tensors: readonly SafetensorsTensorInput[],
  metadata?: Readonly<Record<string, string>>,
  fileName = '(in-memory safetensors)',
): Uint8Array<ArrayBuffer> {
  const plan = planSafetensorsFile(tensors, metadata, fileName);
  const file = new Uint8Array(plan.fileByteLength);
  file.set(plan.headerBytes);
  let position = plan.headerBytes.length;
  for (const { input } of plan.entries) {
    for (const chunk of tensorByteChunks(input, fileName)) {
      file.set(chunk, position);
      position += chunk.length;
    }
  }
  return file;
}

function checkTensorInput(input: SafetensorsTensorInput, fileName: string): void {
  const fail = (detail: string): never => {
    throw new SafetensorsError(fileName, detail, { tensor: String(input.name) });
  };
  if (typeof input.name !== 'string' || hasLoneSurrogate(input.name)) {
    fail('tensor names must be strings of valid Unicode (the header is UTF-8)');
  }
  if (input.name === '__metadata__') fail('"__metadata__" is reserved by the format for the metadata map');
  if (!isSafetensorsDType(input.dtype)) fail(`unknown dtype ${JSON.stringify(input.dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`);
  const shape: readonly unknown[] = input.shape;
  if (!Array.isArray(shape) || !shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
    fail(`shape must be an array of non-negative integers; got ${JSON.stringify(shape)}`);
  }
  const count = elementCount(input.shape);
  const width = SAFETENSORS_DTYPE_BYTES[input.dtype];
  const { data } = input;
  if (!ArrayBuffer.isView(data)) fail('data must be a typed array');
  const accepted = DATA_TYPE_FOR[input.dtype];
  const acceptedNames = [...accepted.map((type) => type.name), 'Uint8Array (raw little-endian bytes)'].join(' or ');
  if (data instanceof Uint8Array) {
    if (data.length !== count * width) {
      fail(`shape [${input.shape.join(', ')}] with dtype ${input.dtype} needs ${count * width} bytes, but the Uint8Array holds ${data.length}`);
    }
    return;
  }
  if (!accepted.some((type) => data instanceof type)) {
    fail(`data is a ${data.constructor.name}; dtype ${input.dtype} takes ${acceptedNames}`);
  }
  if (data.length !== count) {
    fail(`shape [${input.shape.join(', ')}] needs ${count} elements, but the ${data.constructor.name} holds ${data.length}`);
  }
}

function checkMetadata(metadata: Readonly<Record<string, string>>, fileName: string): void {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new SafetensorsError(fileName, 'metadata must be an object mapping strings to strings');
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string' || hasLoneSurrogate(key) || hasLoneSurrogate(value)) {
      throw new SafetensorsError(
        fileName,
        `metadata ${JSON.stringify(key)} must map to a string of valid Unicode (the format allows only string values); got ${typeof value}`,
      );
    }
  }
}

function checkBoolBytes(chunk: Uint8Array, chunkStart: number, tensor: string, fileName: string): void {
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] > 1) {
      throw new SafetensorsError(fileName, `BOOL element ${chunkStart + i} is ${chunk[i]}; BOOL bytes must be 0 or 1`, { tensor });
    }
  }
}

/** JSON.stringify escapes lone surrogates as \udXXX, which the reference (serde_json) parser rejects. */
function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** UTF-8 byte order equals code point order, which is how the reference writer (Rust String) sorts. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function assertLittleEndianHost(fileName: string): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new SafetensorsError(fileName, 'encoding needs a little-endian host; this one is big-endian');
}
