/**
 * Text to token ids for language modelling: a corpus split into a training part and a held-out
 * part by character position, each tokenized by a Hugging Face tokenizer (io/tokenizer.ts) or,
 * without one, byte-level (each UTF-8 byte is a token id 0..255, vocabulary 256).
 */
import { ArgumentError } from '../core/errors.js';

/** Vocabulary of byte-level tokenization: one id per byte value. */
export const BYTE_VOCAB_SIZE = 256;

/** What tokenizing needs of a tokenizer; io/tokenizer.ts's TextTokenizer fits. */
export interface TokenEncoder {
  /** Ids 0 .. vocabSize - 1 may occur. */
  readonly vocabSize: number;
  encode(text: string, options?: { addSpecialTokens?: boolean }): ArrayLike<number>;
}

/** The UTF-8 bytes of `text` as token ids 0..255. */
export function byteLevelEncode(text: string): Int32Array {
  return Int32Array.from(new TextEncoder().encode(text));
}

/**
 * Text of byte-level ids. A window may start or end inside a multi-byte character; those bytes
 * decode to U+FFFD rather than throwing, so any window can be printed.
 */
export function byteLevelDecode(ids: ArrayLike<number>): string {
  const bytes = new Uint8Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id >= BYTE_VOCAB_SIZE) throw new ArgumentError(`byte-level id ${id} is outside 0..255`);
    bytes[i] = id;
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** Byte-level tokenization as a TokenEncoder, the default of tokenizeCorpus. */
export const byteLevelEncoder: TokenEncoder = { vocabSize: BYTE_VOCAB_SIZE, encode: byteLevelEncode };

export interface TextSplit {
  readonly train: string;
  readonly heldOut: string;
}

/**
 * The first `trainFraction` of `text` for training, the rest held out, cut at character
 * floor(trainFraction * characters) as tools/train/train_tinyshakespeare.py does
 * (`int(0.9 * len(text))`). Characters are Unicode code points, as Python's len counts them, so
 * the cut matches Python's on any text and never falls inside a surrogate pair.
 */
export function splitText(text: string, trainFraction = 0.9): TextSplit {
  if (!(trainFraction > 0 && trainFraction < 1)) throw new ArgumentError(`trainFraction must be in (0, 1), got ${trainFraction}`);
  let codePoints = 0;
  for (let i = 0; i < text.length; i++) if (!isTrailingSurrogateOfPair(text, i)) codePoints++;
  const cutCodePoints = Math.floor(trainFraction * codePoints);
  // Walk to the UTF-16 index of code point number cutCodePoints.
  let index = 0;
  for (let seen = 0; seen < cutCodePoints; seen++) index += isSurrogatePairAt(text, index) ? 2 : 1;
  return { train: text.slice(0, index), heldOut: text.slice(index) };
}

export interface TokenCorpus {
  /** Token ids of the training part. */
  readonly train: Int32Array;
  /** Token ids of the held-out part, tokenized on their own (no token spans the cut). */
  readonly heldOut: Int32Array;
  readonly vocabSize: number;
}

export interface TokenizeCorpusOptions {
  /** Default: byte-level. */
  readonly tokenizer?: TokenEncoder;
  /** Default 0.9. */
  readonly trainFraction?: number;
}

/**
 * A corpus split by splitText and tokenized. Special tokens (a BOS ...) are not added: the corpus
 * is one running stream that windows cut anywhere, not a list of documents.
 */
export function tokenizeCorpus(text: string, options: TokenizeCorpusOptions = {}): TokenCorpus {
  const tokenizer = options.tokenizer ?? byteLevelEncoder;
  const { train, heldOut } = splitText(text, options.trainFraction);
  const encode = (part: string) => Int32Array.from(tokenizer.encode(part, { addSpecialTokens: false }));
  return { train: encode(train), heldOut: encode(heldOut), vocabSize: tokenizer.vocabSize };
}

function isSurrogatePairAt(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  if (high < 0xd800 || high > 0xdbff || i + 1 >= text.length) return false;
  const low = text.charCodeAt(i + 1);
  return low >= 0xdc00 && low <= 0xdfff;
}

function isTrailingSurrogateOfPair(text: string, i: number): boolean {
  return i > 0 && isSurrogatePairAt(text, i - 1);
}
