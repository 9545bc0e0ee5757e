/** Reading a text file for tokenizing: a clear error when it is missing or not UTF-8 (never U+FFFD silently). */
import { readFile } from 'node:fs/promises';
import { SparsekitError } from '../../core/errors.js';

/** Reads a file as UTF-8, rejecting invalid byte sequences instead of replacing them. */
export async function readUtf8File(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new SparsekitError('E_NOT_FOUND', `${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SparsekitError('E_INPUT', `${path}: not valid UTF-8 text`);
  }
}
