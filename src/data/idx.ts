/**
 * The IDX format of MNIST and Fashion-MNIST (LeCun et al., "The MNIST database"): a magic number
 * of two zero bytes, a type byte and a dimension count, then each dimension as a big-endian u32,
 * then the values, big-endian, row-major. Browser-safe: this parses bytes; data/node/ reads files.
 */
import { ArgumentError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { DataError } from './data-error.js';
import type { ClassificationDataset } from './dataset.js';

export type IdxDType = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

export type IdxTypedArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  readonly dtype: IdxDType;
  readonly shape: readonly number[];
  /** The values, row-major, in host byte order; a copy that does not share memory with the input bytes. */
  readonly data: IdxTypedArray;
}

interface IdxTypeEntry {
  readonly typeByte: number;
  readonly bytesPerElement: number;
  readonly create: (length: number) => IdxTypedArray;
  /** Reads one big-endian element at `byteOffset`. */
  readonly read: (view: DataView, byteOffset: number) => number;
  readonly write: (view: DataView, byteOffset: number, value: number) => void;
}

/** The type byte of each dtype, as the format defines them (0x08 ... 0x0E; there is no 0x0A). */
const IDX_TYPES: Readonly<Record<IdxDType, IdxTypeEntry>> = {
  u8: { typeByte: 0x08, bytesPerElement: 1, create: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o), write: (v, o, x) => v.setUint8(o, x) },
  i8: { typeByte: 0x09, bytesPerElement: 1, create: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o), write: (v, o, x) => v.setInt8(o, x) },
  i16: { typeByte: 0x0b, bytesPerElement: 2, create: (n) => new Int16Array(n), read: (v, o) => v.getInt16(o), write: (v, o, x) => v.setInt16(o, x) },
  i32: { typeByte: 0x0c, bytesPerElement: 4, create: (n) => new Int32Array(n), read: (v, o) => v.getInt32(o), write: (v, o, x) => v.setInt32(o, x) },
  f32: { typeByte: 0x0d, bytesPerElement: 4, create: (n) => new Float32Array(n), read: (v, o) => v.getFloat32(o), write: (v, o, x) => v.setFloat32(o, x) },
  f64: { typeByte: 0x0e, bytesPerElement: 8, create: (n) => new Float64Array(n), read: (v, o) => v.getFloat64(o), write: (v, o, x) => v.setFloat64(o, x) },
};

export const IDX_DTYPES: readonly IdxDType[] = Object.keys(IDX_TYPES) as IdxDType[];

const DTYPE_OF_TYPE_BYTE: ReadonlyMap<number, IdxDType> = new Map(IDX_DTYPES.map((dtype) => [IDX_TYPES[dtype].typeByte, dtype]));

/**
 * Largest data section accepted: 2 GiB - 1, Node's largest single file read, and far above the
 * 47 MB of MNIST's training images. It stops dims such as 2^32 x 2^32 before any allocation.
 */
export const MAX_IDX_DATA_BYTES = 2 ** 31 - 1;

/** Parses IDX bytes. `source` (a file name) starts every error message. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length < 4) throw new DataError(source, `truncated header: ${bytes.length} byte(s), the IDX magic number alone needs 4`);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw new DataError(source, 'is gzip-compressed; decompress it first (readIdxFile does so)');
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(source, `wrong magic number: IDX starts with two zero bytes, found 0x${hex(bytes[0])} 0x${hex(bytes[1])}`);
  }
  const dtype = DTYPE_OF_TYPE_BYTE.get(bytes[2]);
  if (dtype === undefined) {
    throw new DataError(source, `unknown type byte 0x${hex(bytes[2])}; IDX defines 0x08 (u8), 0x09 (i8), 0x0B (i16), 0x0C (i32), 0x0D (f32), 0x0E (f64)`);
  }
  const rank = bytes[3];
  if (rank === 0) throw new DataError(source, 'the header declares 0 dimensions; IDX data has at least one');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new DataError(source, `truncated header: ${rank} dimension(s) need ${headerBytes} header bytes, the data has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i));
  const entry = IDX_TYPES[dtype];
  // Products of u32 dims stay exact in doubles until they pass 2^53, far above the limit checked here.
  const dataBytes = shape.reduce((a, b) => a * b, entry.bytesPerElement);
  if (dataBytes > MAX_IDX_DATA_BYTES) {
    throw new DataError(source, `too large: dims [${shape.join(', ')}] of ${dtype} describe ${formatBytes(dataBytes)}, above the limit of ${formatBytes(MAX_IDX_DATA_BYTES + 1)}`);
  }
  const found = bytes.length - headerBytes;
  if (found !== dataBytes) {
    const what = found < dataBytes ? 'truncated data' : 'trailing bytes';
    throw new DataError(source, `${what}: dims [${shape.join(', ')}] of ${dtype} need ${dataBytes} data bytes after the ${headerBytes}-byte header, found ${found}`);
  }
  const length = dataBytes / entry.bytesPerElement;
  if (dtype === 'u8') return { dtype, shape, data: bytes.slice(headerBytes) };
  const data = entry.create(length);
  for (let i = 0; i < length; i++) data[i] = entry.read(view, headerBytes + i * entry.bytesPerElement);
  return { dtype, shape, data };
}

/**
 * IDX bytes of `array`, the inverse of parseIdx: for writing subsets or test fixtures in the
 * format the MNIST tools read. Throws an ArgumentError when shape and data disagree.
 */
export function encodeIdx(array: IdxArray): Uint8Array {
  const { dtype, shape, data } = array;
  const entry = IDX_TYPES[dtype];
  if (entry === undefined) throw new ArgumentError(`encodeIdx: unknown dtype ${JSON.stringify(dtype)}; IDX holds ${IDX_DTYPES.join(', ')}`);
  if (shape.length < 1 || shape.length > 255) throw new ArgumentError(`encodeIdx: IDX holds 1 to 255 dimensions, got ${shape.length}`);
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) throw new ArgumentError(`encodeIdx: dimension ${dim} is not a u32`);
  }
  const length = shape.reduce((a, b) => a * b, 1);
  if (data.length !== length) throw new ArgumentError(`encodeIdx: shape [${shape.join(', ')}] holds ${length} values, data has ${data.length}`);
  const headerBytes = 4 + 4 * shape.length;
  const bytes = new Uint8Array(headerBytes + length * entry.bytesPerElement);
  const view = new DataView(bytes.buffer);
  bytes[2] = entry.typeByte;
  bytes[3] = shape.length;
  shape.forEach((dim, i) => view.setUint32(4 + 4 * i, dim));
  for (let i = 0; i < length; i++) entry.write(view, headerBytes + i * entry.bytesPerElement, data[i]);
  return bytes;
}

export interface IdxClassificationOptions {
  /** Number of classes; default: the largest label + 1 (10 for MNIST and Fashion-MNIST). */
  readonly classes?: number;
  /** Names of the two arrays in errors (their file paths). Default "IDX images", "IDX labels". */
  readonly sources?: { readonly images: string; readonly labels: string };
}

/**
 * A classification dataset from an IDX image array [N, H, W] of u8 and a label array [N] of u8
 * (the four files of MNIST and Fashion-MNIST pair up this way). Pixels are scaled to [0, 1] by
 * /255, the scaling torchvision's ToTensor applies, so models trained there see the same inputs.
 */
export function imageClassificationFromIdx(images: IdxArray, labels: IdxArray, options: IdxClassificationOptions = {}): ClassificationDataset {
  const { images: imagesSource, labels: labelsSource } = options.sources ?? { images: 'IDX images', labels: 'IDX labels' };
  if (images.dtype !== 'u8' || images.shape.length !== 3) {
    throw new DataError(imagesSource, `expected [N, H, W] of u8, got [${images.shape.join(', ')}] of ${images.dtype}`);
  }
  if (labels.dtype !== 'u8' || labels.shape.length !== 1) {
    throw new DataError(labelsSource, `expected [N] of u8, got [${labels.shape.join(', ')}] of ${labels.dtype}`);
  }
  const [n, height, width] = images.shape;
  if (labels.shape[0] !== n) throw new DataError(labelsSource, `${labels.shape[0]} labels for ${n} images; the counts must match`);
  if (n === 0) throw new DataError(imagesSource, 'holds no images');
  let maxLabel = -1;
  for (let i = 0; i < n; i++) maxLabel = Math.max(maxLabel, labels.data[i]);
  const classes = options.classes ?? maxLabel + 1;
  if (!Number.isInteger(classes) || classes < 1) throw new ArgumentError(`classes must be a positive integer, got ${classes}`);
  if (maxLabel >= classes) throw new DataError(labelsSource, `label ${maxLabel} is outside [0, ${classes})`);
  const inputs = new Float32Array(images.data.length);
  for (let i = 0; i < inputs.length; i++) inputs[i] = images.data[i] / 255;
  return { inputs, labels: Int32Array.from(labels.data), classes, shape: [height, width] };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}
