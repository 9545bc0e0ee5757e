/**
 * Layouts of the sparse formats' parts (core/backend.ts: CsrParts, BsrParts, NmParts) that both
 * the formats (sparse/) and the kernels' references (backends/) need: the host-array mirrors of
 * the parts, and the bit packing of N:M positions.
 */
import { ArgumentError } from './errors.js';

/** CSR column indices fit u16 while cols <= 65536 (the largest index is then 65535); wider weights use i32. */
export const CSR_U16_MAX_COLS = 65536;

/** The largest N:M group length: positions inside a group must fit one byte. */
export const MAX_NM_GROUP = 256;

/** CsrParts as host arrays (CsrMatrix.readArrays()). */
export interface CsrArrays {
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: Int32Array;
  readonly colIndices: Uint16Array | Int32Array;
  readonly values: Float32Array;
}

/** BitmapParts as host arrays (BitmapMatrix.readArrays()). */
export interface BitmapArrays {
  readonly rows: number;
  readonly cols: number;
  readonly rowPtr: Int32Array;
  readonly mask: Uint8Array;
  readonly values: Float32Array;
}

/** BsrParts as host arrays (BsrMatrix.readArrays()); tiles column-major. */
export interface BsrArrays {
  readonly rows: number;
  readonly cols: number;
  readonly blockRows: number;
  readonly blockCols: number;
  readonly blockRowPtr: Int32Array;
  readonly blockColIndices: Int32Array;
  readonly values: Float32Array;
}

/** NmParts as host arrays (NmMatrix.readArrays()). */
export interface NmArrays {
  readonly rows: number;
  readonly cols: number;
  readonly n: number;
  readonly m: number;
  readonly bitsPerIndex: number;
  readonly values: Float32Array;
  readonly indices: Uint8Array;
}


/** Bits per stored position: 2 for m <= 4, 4 for m <= 16, 8 for m <= 256 (powers of two, so no index straddles a byte). */
export function bitsPerIndexFor(m: number): number {
  if (m <= 4) return 2;
  if (m <= 16) return 4;
  if (m <= MAX_NM_GROUP) return 8;
  throw new ArgumentError(`N:M group length ${m} exceeds ${MAX_NM_GROUP}`);
}

/** Bytes of packed indices per row: ceil(cols / m * n * bits / 8); every row starts on a fresh byte. */
export function nmIndexRowBytes(cols: number, n: number, m: number): number {
  return Math.ceil(((cols / m) * n * bitsPerIndexFor(m)) / 8);
}

/** Position of the `k`-th kept value of a row whose packed indices start at `rowOffset` (least significant bits first). */
export function readPackedIndex(bytes: Uint8Array, rowOffset: number, k: number, bits: number): number {
  const bit = k * bits;
  return (bytes[rowOffset + (bit >>> 3)] >>> (bit & 7)) & ((1 << bits) - 1);
}

/** Stores `position` as the `k`-th index of a row; the target bits must still be zero. */
export function writePackedIndex(bytes: Uint8Array, rowOffset: number, k: number, bits: number, position: number): void {
  const bit = k * bits;
  bytes[rowOffset + (bit >>> 3)] |= position << (bit & 7);
}
