/** Loading a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json) from a folder (Node only). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TextTokenizer, TokenizerError } from '../tokenizer.js';

/** The files a tokenizer may consist of; saving a model folder copies those present. */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
] as const;

/**
 * The tokenizer of the folder `dir`: tokenizer.json is required (a clear error when it is missing
 * or not valid JSON), tokenizer_config.json optional (it names BOS/EOS and the chat template).
 */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  return (await load(dir, true))!;
}

/** `loadTokenizer(dir)`, or null when the folder has no tokenizer.json. */
export function loadTokenizerIfPresent(dir: string): Promise<TextTokenizer | null> {
  return load(dir, false);
}

async function load(dir: string, required: boolean): Promise<TextTokenizer | null> {
  const path = join(dir, 'tokenizer.json');
  const json = await readJsonFile(path, required);
  if (json === undefined) return null;
  const config = await readJsonFile(join(dir, 'tokenizer_config.json'), false);
  return TextTokenizer.fromJson(json, config ?? {}, path);
}

async function readJsonFile(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (!required) return undefined;
      throw new TokenizerError(`${path}: no such file; a tokenizer needs tokenizer.json (the "fast" tokenizer format of Hugging Face)`, error);
    }
    throw new TokenizerError(`${path}: cannot read: ${(error as Error).message}`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new TokenizerError(`${path}: not valid JSON (${(error as Error).message})`, error);
  }
}
