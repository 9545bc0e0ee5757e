/**
 * Reads tensors out of a safetensors file through a ByteSource (file handle, Blob, memory).
 * Only the header is read up front; tensor bytes are read on demand, in bounded chunks,
 * so models larger than memory can be inspected and tensors decoded into memory the caller owns.
 */
import { allocTypedArray, type DType, type TypedArray } from '../core/dtype.js';
import { ArgumentError } from '../core/errors.js';
import type { ByteSource } from './byte-source.js';
import { checkEngineOutput, decodeElementsInto, storesEngineBytes } from './safetensors-decode.js';
import { SafetensorsError } from './safetensors-error.js';
import {
  ENGINE_DTYPE_OF,
  HEADER_LENGTH_PREFIX_BYTES,
  SAFETENSORS_DTYPE_BYTES,
  elementCount,
  parseSafetensorsHeader,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './safetensors-format.js';

/** Raw bytes decoded per step by default: bounds the scratch memory a decode needs. */
export const DEFAULT_READ_CHUNK_BYTES = 16 * 1024 * 1024;

export interface DecodedTensor {
  dtype: DType;
  shape: number[];
  data: TypedArray;
}

/** A run of decoded elements of one tensor, starting at flat (row-major) index `elementOffset`. */
export interface TensorChunk {
  elementOffset: number;
  data: TypedArray;
}

export interface ReadIntoOptions {
  /** Stored bytes read and decoded per step; rounded down to whole elements (at least one). */
  chunkBytes?: number;
}

export class SafetensorsReader {
  readonly source: ByteSource;
  readonly metadata: Readonly<Record<string, string>>;
  readonly headerByteLength: number;
  /** Absolute file offset of the data section. */
  readonly dataStart: number;
  private readonly ordered: readonly SafetensorsTensorInfo[];
  private readonly byName: ReadonlyMap<string, SafetensorsTensorInfo>;

  private constructor(source: ByteSource, header: SafetensorsHeader) {
    this.source = source;
    this.metadata = Object.freeze(header.metadata);
    this.headerByteLength = header.headerByteLength;
    this.dataStart = header.dataStart;
    this.ordered = header.tensors;
    this.byName = new Map(header.tensors.map((info) => [info.name, info]));
  }

  /** Reads and validates the header; the source stays open and owned by the caller. */
  static async open(source: ByteSource): Promise<SafetensorsReader> {
    const fileByteLength = source.byteLength;
    if (!Number.isSafeInteger(fileByteLength) || fileByteLength < 0) {
      throw new SafetensorsError(source.name, `source reports an invalid length ${fileByteLength}`);
    }
    if (fileByteLength < HEADER_LENGTH_PREFIX_BYTES) {
      throw new SafetensorsError(
        source.name,
        `file is ${fileByteLength} bytes long; a safetensors file starts with an 8-byte little-endian header length`,
      );
    }
    const prefix = await readExactly(source, 0, HEADER_LENGTH_PREFIX_BYTES);
    const headerByteLength = readHeaderLength(prefix, fileByteLength, source.name);
    const headerBytes = await readExactly(source, HEADER_LENGTH_PREFIX_BYTES, headerByteLength);
    return new SafetensorsReader(source, parseSafetensorsHeader(headerBytes, fileByteLength, source.name));
  }

  get fileName(): string {
    return this.source.name;
  }

  /** All tensors in file order (by data offset). Copies: callers may modify them freely. */
  tensors(): SafetensorsTensorInfo[] {
    return this.ordered.map(copyInfo);
  }

  names(): string[] {
    return this.ordered.map((info) => info.name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  info(name: string): SafetensorsTensorInfo {
    return copyInfo(this.lookUp(name));
  }

  /** The tensor's stored little-endian bytes. From a MemoryByteSource this is a view: do not modify it. */
  async readRaw(name: string): Promise<Uint8Array> {
    const info = this.lookUp(name);
    return readExactly(this.source, this.dataStart + info.dataOffsets[0], info.dataOffsets[1] - info.dataOffsets[0]);
  }

  /** The tensor decoded to its engine dtype (ENGINE_DTYPE_OF) in a new array. */
  async read(name: string, options: ReadIntoOptions = {}): Promise<DecodedTensor> {
    const info = this.lookUp(name);
    const dtype = ENGINE_DTYPE_OF[info.dtype];
    const data = allocTypedArray(dtype, elementCount(info.shape));
    await this.readInto(name, data, options);
    return { dtype, shape: [...info.shape], data };
  }

  /**
   * Decodes the tensor into `out`, which must be the engine dtype's array type with exactly the
   * tensor's element count. Works chunk by chunk, so the only extra memory is one chunk of stored
   * bytes, and none at all when the stored bytes already are the engine representation.
   */
  async readInto(name: string, out: TypedArray, options: ReadIntoOptions = {}): Promise<void> {
    const info = this.lookUp(name);
    checkEngineOutput(info, out, this.fileName);
    const context = { fileName: this.fileName, tensor: info.name };
    const width = SAFETENSORS_DTYPE_BYTES[info.dtype];
    const total = elementCount(info.shape);
    const base = this.dataStart + info.dataOffsets[0];
    const step = chunkElementCount(options.chunkBytes, width);
    if (storesEngineBytes(info.dtype)) {
      const outBytes = new Uint8Array(out.buffer, out.byteOffset, total * width);
      for (let start = 0; start < total; start += step) {
        const end = Math.min(total, start + step);
        await readBytesInto(this.source, base + start * width, outBytes.subarray(start * width, end * width));
      }
      return;
    }
    let scratch: Uint8Array | undefined;
    for (let start = 0; start < total; start += step) {
      const count = Math.min(total, start + step) - start;
      let raw: Uint8Array;
      if (this.source.readInto !== undefined) {
        scratch ??= new Uint8Array(Math.min(total, step) * width);
        raw = scratch.subarray(0, count * width);
        await this.source.readInto(base + start * width, raw);
      } else {
        raw = await readExactly(this.source, base + start * width, count * width);
      }
      decodeElementsInto(info.dtype, raw, out, start, context);
    }
  }

  /**
   * The tensor decoded chunk by chunk, each chunk a new array of at most `chunkBytes` stored bytes'
   * worth of elements. For statistics over tensors too large to hold decoded at once.
   */
  async *iterateChunks(name: string, chunkBytes = DEFAULT_READ_CHUNK_BYTES): AsyncGenerator<TensorChunk> {
    const info = this.lookUp(name);
    const context = { fileName: this.fileName, tensor: info.name };
    const dtype = ENGINE_DTYPE_OF[info.dtype];
    const width = SAFETENSORS_DTYPE_BYTES[info.dtype];
    const total = elementCount(info.shape);
    const step = chunkElementCount(chunkBytes, width);
    for (let start = 0; start < total; start += step) {
      const count = Math.min(total, start + step) - start;
      const raw = await readExactly(this.source, this.dataStart + info.dataOffsets[0] + start * width, count * width);
      const data = allocTypedArray(dtype, count);
      decodeElementsInto(info.dtype, raw, data, 0, context);
      yield { elementOffset: start, data };
    }
  }

  /** Closes the underlying source, if it can be closed. */
  async close(): Promise<void> {
    await this.source.close?.();
  }

  private lookUp(name: string): SafetensorsTensorInfo {
    const info = this.byName.get(name);
    if (info !== undefined) return info;
    const shown = this.ordered.slice(0, 8).map((candidate) => JSON.stringify(candidate.name));
    const more = this.ordered.length > shown.length ? `, ... (${this.ordered.length - shown.length} more)` : '';
    const available = this.ordered.length === 0 ? 'the file holds no tensors' : `the file holds ${this.ordered.length}: ${shown.join(', ')}${more}`;
    throw new SafetensorsError(this.fileName, `no such tensor; ${available}`, { tensor: name });
  }
}

/** `source.read` with its length checked, so a source that returns short never yields garbage. */
async function readExactly(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.read(offset, length);
  if (bytes.length !== length) {
    throw new SafetensorsError(
      source.name,
      `read of ${length} bytes at offset ${offset} returned ${bytes.length} (did the file change while open?)`,
    );
  }
  return bytes;
}

async function readBytesInto(source: ByteSource, offset: number, target: Uint8Array): Promise<void> {
  if (source.readInto !== undefined) await source.readInto(offset, target);
  else target.set(await readExactly(source, offset, target.length));
}

function chunkElementCount(chunkBytes: number | undefined, width: number): number {
  const bytes = chunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ArgumentError(`chunkBytes must be a positive integer; got ${bytes}`);
  }
  return Math.max(1, Math.floor(bytes / width));
}

function copyInfo(info: SafetensorsTensorInfo): SafetensorsTensorInfo {
  return { name: info.name, dtype: info.dtype, shape: [...info.shape], dataOffsets: [info.dataOffsets[0], info.dataOffsets[1]] };
}
