/**
 * The safetensors container format, as specified in the README of huggingface/safetensors
 * ("### Format") and implemented by safetensors/src/tensor.rs:
 *
 *   8 bytes   N, an unsigned little-endian 64-bit integer: the header length
 *   N bytes   a UTF-8 JSON object, which MUST begin with "{" and MAY be right-padded with spaces:
 *             { "__metadata__"?: {string: string}, NAME: {dtype, shape, data_offsets: [BEGIN, END]}, ... }
 *   the rest  the data section; offsets are relative to its start, END is one past the last byte.
 *
 * This module only describes and validates; it imports nothing from Node so browsers can use it.
 */
import type { DType } from '../core/dtype.js';
import { SafetensorsError } from './safetensors-error.js';

/** Stored element types sparsekit reads and writes. */
export const SAFETENSORS_DTYPES = [
  'F64', 'F32', 'F16', 'BF16',
  'I64', 'I32', 'I16', 'I8',
  'U64', 'U32', 'U16', 'U8',
  'BOOL', 'F8_E4M3', 'F8_E5M2',
] as const;

export type SafetensorsDType = (typeof SAFETENSORS_DTYPES)[number];

/**
 * Dtypes the reference implementation knows but sparsekit does not decode: sub-byte floats
 * (F4, F6_*) break the one-element-per-byte-range assumption, E8M0 is a scale-only type,
 * FNUZ variants and complex numbers have no engine counterpart. Naming them gives a clearer
 * error than "unknown dtype".
 */
export const UNSUPPORTED_SAFETENSORS_DTYPES: readonly string[] = [
  'F4', 'F6_E2M3', 'F6_E3M2', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ', 'C64',
];

export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

/**
 * The engine dtype a stored dtype decodes to (see core/dtype.ts: kernels only see engine dtypes).
 * Every float becomes f32; every integer that may not fit u16/u8 becomes i32, range-checked on decode.
 */
export const ENGINE_DTYPE_OF: Readonly<Record<SafetensorsDType, DType>> = {
  F64: 'f32', F32: 'f32', F16: 'f32', BF16: 'f32', F8_E4M3: 'f32', F8_E5M2: 'f32',
  I64: 'i32', I32: 'i32', I16: 'i32', I8: 'i32', U64: 'i32', U32: 'i32',
  U16: 'u16', U8: 'u8', BOOL: 'bool',
};

export function isSafetensorsDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && (SAFETENSORS_DTYPES as readonly string[]).includes(value);
}

/** Bytes of the little-endian u64 header length that starts every file. */
export const HEADER_LENGTH_PREFIX_BYTES = 8;

/** The reference implementation's MAX_HEADER_SIZE (tensor.rs): larger headers are refused unread. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDType;
  /** Row-major ("C" order, per the spec). [] is a scalar holding one element. */
  shape: number[];
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** Sorted by data offsets, which is also the order of the bytes in the file. */
  tensors: SafetensorsTensorInfo[];
  metadata: Record<string, string>;
  /** N: the JSON header's length in bytes, padding included. */
  headerByteLength: number;
  /** Absolute byte offset of the data section: 8 + N. */
  dataStart: number;
}

/** Number of elements of a tensor of `shape`: 1 for a scalar, 0 when any dimension is 0. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

/**
 * Decodes and checks the 8-byte header-length prefix. Everything is checked before the caller
 * allocates or reads N bytes, so a hostile length can neither exhaust memory nor read past the end.
 */
export function readHeaderLength(prefix: Uint8Array, fileByteLength: number, fileName: string): number {
  if (fileByteLength < HEADER_LENGTH_PREFIX_BYTES || prefix.length < HEADER_LENGTH_PREFIX_BYTES) {
    throw new SafetensorsError(
      fileName,
      `file is ${Math.min(fileByteLength, prefix.length)} bytes long; a safetensors file starts with an 8-byte little-endian header length`,
    );
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, HEADER_LENGTH_PREFIX_BYTES).getBigUint64(0, true);
  if (length === 0n) {
    throw new SafetensorsError(fileName, 'header length is 0; expected a JSON object of at least 2 bytes ("{}")');
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      fileName,
      `header length ${length} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit of the safetensors format`,
    );
  }
  const headerByteLength = Number(length);
  if (HEADER_LENGTH_PREFIX_BYTES + headerByteLength > fileByteLength) {
    throw new SafetensorsError(
      fileName,
      `header length ${headerByteLength} bytes would end at byte ${HEADER_LENGTH_PREFIX_BYTES + headerByteLength}, ` +
        `past the end of the ${fileByteLength}-byte file (truncated file?)`,
    );
  }
  return headerByteLength;
}

/**
 * Parses and fully validates the N header bytes of a file of `fileByteLength` bytes.
 * Afterwards every tensor's bytes are known to lie inside the file, to match shape x dtype,
 * and the tensors are known to tile the data section exactly (the spec forbids holes, to
 * prevent polyglot files), so readers can trust the offsets without further checks.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileByteLength: number, fileName: string): SafetensorsHeader {
  const headerByteLength = headerBytes.length;
  if (headerByteLength === 0 || headerByteLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(fileName, `header is ${headerByteLength} bytes; expected 1 to ${MAX_HEADER_BYTES}`);
  }
  const dataStart = HEADER_LENGTH_PREFIX_BYTES + headerByteLength;
  if (dataStart > fileByteLength) {
    throw new SafetensorsError(fileName, `header ends at byte ${dataStart}, past the end of the ${fileByteLength}-byte file`);
  }
  const dataByteLength = fileByteLength - dataStart;
  const json = parseHeaderJson(headerBytes, fileName);

  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (key === '__metadata__') metadata = parseMetadata(value, fileName);
    else tensors.push(parseTensorEntry(key, value, dataByteLength, fileName));
  }
  // Writers may order entries any way (older ones sorted by name); the bytes are in offset order.
  // Array.prototype.sort is stable, so zero-byte tensors sharing an offset keep their JSON order.
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkTensorsTileDataSection(tensors, dataByteLength, fileName);
  return { tensors, metadata, headerByteLength, dataStart };
}

function parseHeaderJson(headerBytes: Uint8Array, fileName: string): Record<string, unknown> {
  if (headerBytes[0] !== 0x7b) {
    throw new SafetensorsError(
      fileName,
      `header must begin with "{" (byte 0x7b); found byte 0x${headerBytes[0].toString(16).padStart(2, '0')} (not a safetensors file?)`,
    );
  }
  let text: string;
  try {
    // fatal: invalid UTF-8 must be an error, not silently replaced with U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new SafetensorsError(fileName, 'header is not valid UTF-8', { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SafetensorsError(fileName, `header is not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (!isPlainObject(json)) {
    throw new SafetensorsError(fileName, `header must be a JSON object; found ${describeJson(json)}`);
  }
  return json;
}

function parseMetadata(value: unknown, fileName: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(fileName, `"__metadata__" must be an object of string values; found ${describeJson(value)}`);
  }
  const metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new SafetensorsError(
        fileName,
        `"__metadata__" values must be strings (the spec forbids arbitrary JSON); key ${JSON.stringify(key)} holds ${describeJson(entry)}`,
      );
    }
    // defineProperty, not assignment: a key "__proto__" must stay data, not reach the prototype setter.
    Object.defineProperty(metadata, key, { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return metadata;
}

function parseTensorEntry(name: string, value: unknown, dataByteLength: number, fileName: string): SafetensorsTensorInfo {
  const fail = (detail: string): never => {
    throw new SafetensorsError(fileName, detail, { tensor: name });
  };
  if (!isPlainObject(value)) {
    return fail(`entry must be an object with "dtype", "shape" and "data_offsets"; found ${describeJson(value)}`);
  }
  const { dtype, shape, data_offsets: offsets } = value;
  if (!isSafetensorsDType(dtype)) {
    if (typeof dtype === 'string' && UNSUPPORTED_SAFETENSORS_DTYPES.includes(dtype)) {
      return fail(`dtype ${JSON.stringify(dtype)} is not supported by sparsekit; supported: ${SAFETENSORS_DTYPES.join(', ')}`);
    }
    return fail(`unknown dtype ${describeJson(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    return fail(`"shape" must be an array of non-negative integers; found ${describeJson(shape)}`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isNonNegativeSafeInteger(offsets[0]) ||
    !isNonNegativeSafeInteger(offsets[1]) ||
    offsets[0] > offsets[1]
  ) {
    return fail(`"data_offsets" must be [begin, end] with non-negative integers and begin <= end; found ${describeJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const expectedBytes = elementCount(shape) * SAFETENSORS_DTYPE_BYTES[dtype];
  if (expectedBytes !== end - begin) {
    // A product past 2^53 is inexact but astronomically larger than any real span, so it still differs.
    return fail(
      `shape [${shape.join(', ')}] with dtype ${dtype} needs ${expectedBytes} bytes, ` +
        `but data_offsets [${begin}, ${end}] span ${end - begin} bytes`,
    );
  }
  if (end > dataByteLength) {
    return fail(
      `data_offsets [${begin}, ${end}] end past the ${dataByteLength}-byte data section (truncated file?)`,
    );
  }
  return { name, dtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/** Requires `sorted` to cover [0, dataByteLength) exactly: no overlaps, holes, or trailing bytes. */
function checkTensorsTileDataSection(sorted: readonly SafetensorsTensorInfo[], dataByteLength: number, fileName: string): void {
  let covered = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const info of sorted) {
    const [begin, end] = info.dataOffsets;
    if (begin < covered && previous !== undefined) {
      throw new SafetensorsError(
        fileName,
        `data_offsets [${begin}, ${end}] overlap tensor ${JSON.stringify(previous.name)}, which ends at ${covered}`,
        { tensor: info.name },
      );
    }
    if (begin > covered) {
      throw new SafetensorsError(
        fileName,
        `data_offsets begin at ${begin} but the previous tensor ends at ${covered}; ` +
          `bytes [${covered}, ${begin}) belong to no tensor and the format requires the data section to be fully indexed`,
        { tensor: info.name },
      );
    }
    covered = end;
    previous = info;
  }
  if (covered !== dataByteLength) {
    throw new SafetensorsError(
      fileName,
      `the data section is ${dataByteLength} bytes but tensors cover only [0, ${covered}); ` +
        `the ${dataByteLength - covered} trailing bytes belong to no tensor and the format requires the data section to be fully indexed`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Short rendering of a JSON value for error messages. Bounded in depth and width rather than
 * JSON.stringify-then-cut: a hostile header can nest a million arrays, which JSON.parse handles
 * but a recursive stringify would turn into a stack overflow instead of a clear error.
 */
function describeJson(value: unknown): string {
  if (value === undefined) return 'nothing (the key is missing)';
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const text = previewJson(value, 3);
  return `${kind} ${text.length > 80 ? `${text.slice(0, 77)}...` : text}`;
}

function previewJson(value: unknown, depth: number): string {
  const widest = 8;
  if (Array.isArray(value)) {
    if (depth === 0) return value.length === 0 ? '[]' : '[...]';
    const items = value.slice(0, widest).map((item) => previewJson(item, depth - 1));
    return `[${items.join(',')}${value.length > widest ? ',...' : ''}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const members: string[] = [];
    for (const key in value) {
      if (depth === 0 || members.length === widest) {
        members.push('...');
        break;
      }
      members.push(`${JSON.stringify(key.slice(0, 80))}:${previewJson((value as Record<string, unknown>)[key], depth - 1)}`);
    }
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(typeof value === 'string' ? value.slice(0, 80) : value);
}
