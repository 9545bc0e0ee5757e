/**
 * Text <-> token ids through a Hugging Face tokenizer.json, via the `@huggingface/tokenizers`
 * package (pure JS: BPE, Unigram, WordPiece, with HF's normalizers, pre-tokenizers, post-processors
 * and decoders). This wrapper fixes the options to sparsekit's names, reads the special tokens
 * from tokenizer_config.json, and decodes a stream of generated ids without breaking characters
 * that span several tokens. Browser-safe; io/node/tokenizer-file.ts loads the files from disk.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { SparsekitError } from '../core/errors.js';

export class TokenizerError extends SparsekitError {
  constructor(message: string, cause?: unknown) {
    super('E_TOKENIZER', message);
    this.name = 'TokenizerError';
    if (cause !== undefined) this.cause = cause;
  }
}

export interface EncodeOptions {
  /** Add the special tokens the tokenizer's post-processor adds (Llama's BOS ...). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, chat markers) from the text. Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Undo the spaces old word-level tokenizers put before punctuation (" ." -> "."). Default: the
   * tokenizer config's `clean_up_tokenization_spaces` (true when absent, as in transformers).
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** Where an incremental decode stands: ids before `prefixOffset` are settled text already emitted. */
export interface DecodeIncrementState {
  /** First id of the context window decoded together with the new ids. */
  readonly prefixOffset: number;
  /** Ids before this have been emitted as text. */
  readonly readOffset: number;
}

export interface DecodeIncrement extends DecodeIncrementState {
  /** Text to append to what was emitted so far ('' while a character is still incomplete). */
  readonly text: string;
}

/** A token spelled in tokenizer_config.json: a plain string or an AddedToken object with "content". */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

export class TextTokenizer {
  /** Ids 0 .. vocabSize - 1 may occur: the model vocabulary plus added tokens (max id + 1). */
  readonly vocabSize: number;
  /** The config's bos_token as an id, or null. */
  readonly bosTokenId: number | null;
  /** The config's eos_token as an id (empty when none is named). */
  readonly eosTokenIds: readonly number[];
  /** Ids of tokens marked special (skipped by decode with skipSpecialTokens). */
  readonly specialTokenIds: ReadonlySet<number>;
  /** tokenizer_config.json as given ({} when there was none), e.g. for `chat_template`. */
  readonly config: Readonly<Record<string, unknown>>;
  private readonly tokenizer: Tokenizer;
  private readonly source: string;

  private constructor(tokenizer: Tokenizer, config: Record<string, unknown>, source: string) {
    this.tokenizer = tokenizer;
    this.config = config;
    this.source = source;
    let maxId = -1;
    for (const id of tokenizer.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const idOf = (key: string): number | null => {
      const content = tokenContent(config[key]);
      if (content === null) return null;
      const id = tokenizer.token_to_id(content);
      return id === undefined ? null : id;
    };
    this.bosTokenId = idOf('bos_token');
    const eos = idOf('eos_token');
    this.eosTokenIds = eos === null ? [] : [eos];
    this.specialTokenIds = new Set([...tokenizer.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
  }

  /**
   * A tokenizer from a parsed tokenizer.json and (optional) tokenizer_config.json. `source` names
   * them in errors. Fields tokenizer.json may leave out (normalizer, decoder ...) count as null.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown = {}, source = 'tokenizer.json'): TextTokenizer {
    if (!tokenizerJson || typeof tokenizerJson !== 'object' || Array.isArray(tokenizerJson)) {
      throw new TokenizerError(`${source}: expected a JSON object`);
    }
    const json = tokenizerJson as Record<string, unknown>;
    if (!json.model || typeof json.model !== 'object') throw new TokenizerError(`${source}: has no "model" object`);
    const config = tokenizerConfig ?? {};
    if (typeof config !== 'object' || Array.isArray(config)) throw new TokenizerError(`${source}: the tokenizer config must be a JSON object`);
    const complete = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      ...json,
    };
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(complete, config);
    } catch (error) {
      throw new TokenizerError(`${source}: cannot build the tokenizer: ${(error as Error).message}`, error);
    }
    return new TextTokenizer(tokenizer, config as Record<string, unknown>, source);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  /**
   * Text of `ids`. Ids the tokenizer does not know (a model's vocabulary is often padded beyond
   * the tokenizer's) decode to nothing, as in HF tokenizers; negative or fractional ids throw.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const known: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0) throw new TokenizerError(`${this.source}: cannot decode token id ${id}; ids are non-negative integers`);
      if (this.tokenizer.id_to_token(id) !== undefined) known.push(id);
    }
    if (known.length === 0) return '';
    return this.tokenizer.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      ...(options.cleanUpTokenizationSpaces === undefined ? {} : { clean_up_tokenization_spaces: options.cleanUpTokenizationSpaces }),
    });
  }

  /**
   * One step of streaming decode (the scheme of HF text-generation-inference): decodes
   * ids[prefixOffset, readOffset) and ids[prefixOffset, end) and returns what the second adds.
   * The window of already-emitted ids in front keeps decoders that depend on context right (a
   * SentencePiece "▁" at the start of a text is stripped, inside it is a space), and while the
   * text ends in U+FFFD (a character whose bytes are still arriving) nothing is emitted and the
   * offsets stay, so the character comes out whole once complete. Start from {0, 0}.
   */
  decodeIncrement(ids: ArrayLike<number>, state: DecodeIncrementState, options: DecodeOptions = {}): DecodeIncrement {
    const { prefixOffset, readOffset } = state;
    const all = Array.from(ids);
    const prefixText = this.decode(all.slice(prefixOffset, readOffset), options);
    const newText = this.decode(all.slice(prefixOffset), options);
    if (newText.length > prefixText.length && !newText.endsWith('\uFFFD')) {
      return { text: newText.slice(prefixText.length), prefixOffset: readOffset, readOffset: all.length };
    }
    return { text: '', prefixOffset, readOffset };
  }

  /** A stateful streaming decoder over decodeIncrement: push ids one at a time, append what it returns. */
  streamDecoder(options: DecodeOptions = {}): TokenStreamDecoder {
    return new TokenStreamDecoder(this, options);
  }

  /** The token string of an id (undefined outside the vocabulary). */
  idToToken(id: number): string | undefined {
    return this.tokenizer.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }
}

/**
 * Decodes generated ids as they arrive. `push(id)` returns the new text (possibly ''); at the end
 * `flush()` returns whatever was held back (an incomplete character comes out as U+FFFD, as a full
 * decode would show it). The concatenation of everything returned equals decode(ids) for
 * tokenizers whose decoding is context-free beyond the window (all byte-level and SentencePiece
 * BPE tokenizers of the supported models).
 */
export class TokenStreamDecoder {
  private readonly ids: number[] = [];
  private state: DecodeIncrementState = { prefixOffset: 0, readOffset: 0 };

  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly options: DecodeOptions = {},
  ) {}

  push(id: number): string {
    this.ids.push(id);
    const step = this.tokenizer.decodeIncrement(this.ids, this.state, this.options);
    this.state = step;
    return step.text;
  }

  /** Text still held back, emitted as-is; the decoder then starts a fresh window. */
  flush(): string {
    const { prefixOffset, readOffset } = this.state;
    if (readOffset === this.ids.length) return '';
    const prefixText = this.tokenizer.decode(this.ids.slice(prefixOffset, readOffset), this.options);
    const text = this.tokenizer.decode(this.ids.slice(prefixOffset), this.options);
    this.state = { prefixOffset: readOffset, readOffset: this.ids.length };
    return text.length > prefixText.length ? text.slice(prefixText.length) : '';
  }

  /** Every id pushed so far. */
  get tokenIds(): readonly number[] {
    return this.ids;
  }
}
