/**
 * Reading training data from local paths (Node only; no downloads): IDX files of MNIST and
 * Fashion-MNIST, plain or gzip-compressed as they are distributed, CIFAR-10 binary batches, and
 * UTF-8 text corpora. Errors start with the file's path and say what is wrong with it.
 */
import { stat, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { formatBytes } from '../../core/units.js';
import { parseCifar10 } from '../cifar10.js';
import { DataError } from '../data-error.js';
import type { ClassificationDataset } from '../dataset.js';
import { imageClassificationFromIdx, parseIdx, type IdxArray, type IdxClassificationOptions } from '../idx.js';
import { tokenizeCorpus, type TokenCorpus, type TokenizeCorpusOptions } from '../text.js';

const gunzipAsync = promisify(gunzip);

/**
 * Largest file, and largest gzip content, read by default: 2 GiB - 1 byte, Node's largest single
 * readFile. MNIST's largest file is 47 MB, all of CIFAR-10 180 MB.
 */
export const MAX_DATA_FILE_BYTES = 2 ** 31 - 1;

export interface DataFileOptions {
  /** Refuse files (and gzip contents) larger than this. Default MAX_DATA_FILE_BYTES. */
  readonly maxBytes?: number;
}

/**
 * The bytes of a data file, gunzipped when they start with the gzip magic number (0x1F 0x8B), so
 * both train-images-idx3-ubyte and train-images-idx3-ubyte.gz read the same.
 */
export async function readDataFileBytes(path: string, options: DataFileOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? MAX_DATA_FILE_BYTES;
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new DataError(path, 'is not a file');
    size = info.size;
  } catch (error) {
    throw fileError(path, error);
  }
  if (size > maxBytes) throw new DataError(path, `too large: ${formatBytes(size)} (${size} bytes), above the limit of ${maxBytes} bytes`);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fileError(path, error);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzipWithin(path, bytes, maxBytes);
  if (isTarArchive(bytes)) throw new DataError(path, 'is a tar archive; extract it first and read the files inside');
  return bytes;
}

/** An IDX file (plain or .gz). */
export async function readIdxFile(path: string, options: DataFileOptions = {}): Promise<IdxArray> {
  return parseIdx(await readDataFileBytes(path, options), path);
}

/**
 * A classification dataset from an IDX images file and its labels file, e.g.
 * train-images-idx3-ubyte.gz with train-labels-idx1-ubyte.gz (MNIST, Fashion-MNIST).
 */
export async function readIdxClassification(
  imagesPath: string,
  labelsPath: string,
  options: DataFileOptions & IdxClassificationOptions = {},
): Promise<ClassificationDataset> {
  const [images, labels] = await Promise.all([readIdxFile(imagesPath, options), readIdxFile(labelsPath, options)]);
  return imageClassificationFromIdx(images, labels, { ...options, sources: { images: imagesPath, labels: labelsPath } });
}

/** CIFAR-10 binary batch files (data_batch_1.bin ... or test_batch.bin), their records in the order given. */
export async function readCifar10Files(paths: readonly string[], options: DataFileOptions = {}): Promise<ClassificationDataset> {
  const batches = await Promise.all(paths.map(async (path) => ({ bytes: await readDataFileBytes(path, options), source: path })));
  return parseCifar10(batches);
}

/** A UTF-8 text file split and tokenized by tokenizeCorpus (byte-level unless a tokenizer is given). */
export async function readTextCorpus(path: string, options: DataFileOptions & TokenizeCorpusOptions = {}): Promise<TokenCorpus> {
  const bytes = await readDataFileBytes(path, options);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new DataError(path, 'is not valid UTF-8 text', { cause: error });
  }
  return tokenizeCorpus(text, options);
}

async function gunzipWithin(path: string, compressed: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  try {
    return await gunzipAsync(compressed, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new DataError(path, `too large: its gzip content exceeds the limit of ${maxBytes} bytes`, { cause: error });
    }
    throw new DataError(path, `starts like gzip but cannot be decompressed: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Whether `bytes` start with a POSIX tar header ("ustar" at byte 257 and a matching header
 * checksum, so data bytes cannot pass by chance): CIFAR-10 ships as cifar-10-binary.tar.gz.
 */
function isTarArchive(bytes: Uint8Array): boolean {
  const magic = [0x75, 0x73, 0x74, 0x61, 0x72];
  if (bytes.length < 512 || !magic.every((byte, i) => bytes[257 + i] === byte)) return false;
  // The checksum (octal at 148..155) is the sum of the header's 512 bytes with its own field as spaces.
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : bytes[i];
  const field = new TextDecoder('latin1').decode(bytes.subarray(148, 156)).replace(/[\0 ]+$/, '').trim();
  return /^[0-7]+$/.test(field) && parseInt(field, 8) === sum;
}

function fileError(path: string, error: unknown): DataError {
  if (error instanceof DataError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new DataError(path, 'no such file', { code: 'E_NOT_FOUND', cause: error });
  return new DataError(path, `cannot read: ${code ?? (error as Error).message}`, { cause: error });
}
