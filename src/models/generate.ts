/**
 * Text generation with a DecoderModel: one prefill step over every prompt (a ragged batch),
 * then one decode step per new token for the sequences still running, each stopping at an
 * end-of-sequence token or after maxNewTokens. Tokens are reported as they come.
 *
 * Sparse attention plugs in through two objects made in src/attention/ (models/ only names their
 * interfaces, so it depends on no method): `kvCache`, which makes each sequence's cache (a
 * KV-cache policy: policyCaches('quest', { budget: 1024 })) and reports what the caches kept and
 * read, and `prefill`, which makes the prompt's attention block-sparse
 * (sparsePrefill({ pattern: 'vertical-slash' })).
 */
import { ArgumentError } from '../core/errors.js';
import type { BlockSparsePrefill, DecoderModel, SequenceStep } from './llama.js';
import type { KVCache } from './kv-cache.js';
import { createSampler, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  /** Stop a sequence at these ids (default: the model's eos ids). Pass [] to never stop early. */
  readonly eosTokenIds?: readonly number[];
  /** The end-of-sequence ids cannot be chosen before this many new tokens (HF's min_new_tokens). */
  readonly minNewTokens?: number;
  /** Called with each new token of each sequence, in order. */
  readonly onToken?: (sequence: number, token: number) => void;
  /** Makes each sequence's KV cache (default: the model's full cache). */
  readonly kvCache?: KVCacheFactory;
  /** Block-sparse attention for the prompts (default: dense). */
  readonly prefill?: BlockSparsePrefill;
}

/** Makes the KV caches of a generation, e.g. ones run by a KV-cache policy (src/attention/policy-caches.ts). */
export interface KVCacheFactory {
  /** A cache for one sequence of up to `capacity` positions. */
  create(model: DecoderModel, capacity: number): KVCache;
  /** What the caches kept and read, after the last step (before they are disposed). */
  report?(caches: readonly KVCache[]): KVCacheReport;
}

/** A KV-cache policy's numbers over all sequences of a generation. */
export interface KVCacheReport {
  readonly policy: string;
  /** The budget as given ("1024 tokens", "0.0625 of the context"), null when the policy has none. */
  readonly budget: string | null;
  /** Keys and values kept plus the policy's metadata, all sequences (f32). */
  readonly kvBytesKept: number;
  /** Keys and values of every position, all sequences: what the full cache holds. */
  readonly kvBytesFull: number;
  /** Bytes the last step of every sequence read (keys, values and metadata), summed over sequences. */
  readonly bytesReadPerStep: number;
  /** The budget covered the context at the last step, so some layers attended to everything. */
  readonly fellBackToFull: boolean;
  /** Those layers (over all sequences). */
  readonly fullFallbackLayers: readonly number[];
}

export interface GenerateResult {
  /** The new tokens of each sequence (the eos token included when it stopped there). */
  readonly tokens: number[][];
  readonly stats: {
    readonly promptTokens: number;
    readonly newTokens: number;
    readonly prefillMs: number;
    readonly decodeMs: number;
    /** Bytes of all sequences' KV caches. */
    readonly kvCacheBytes: number;
    /** The KV cache factory's report (with `kvCache` only). */
    readonly kvPolicy?: KVCacheReport;
  };
}

export async function generate(model: DecoderModel, prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<GenerateResult> {
  const { maxNewTokens } = options;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) throw new ArgumentError(`max new tokens must be a positive integer, got ${maxNewTokens}`);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new ArgumentError('every prompt needs at least one token');
  const context = model.config.maxPositions;
  for (const p of prompts) {
    if (p.length >= context) {
      throw new ArgumentError(`a prompt of ${p.length} tokens leaves no room in the model's context of ${context} tokens (max_position_embeddings)`);
    }
  }
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds);
  const minNewTokens = options.minNewTokens ?? 0;
  const sample = createSampler(options);
  const createCache = (capacity: number) => (options.kvCache ? options.kvCache.create(model, capacity) : model.createCache(capacity));
  const caches: KVCache[] = prompts.map((p) => createCache(Math.min(context, p.length + maxNewTokens)));
  const tokens: number[][] = prompts.map(() => []);
  try {
    let steps: SequenceStep[] = prompts.map((p, i) => ({ tokens: p, cache: caches[i] }));
    let running = prompts.map((_, i) => i);
    const started = performance.now();
    let prefillMs = 0;
    for (let step = 0; running.length > 0; step++) {
      const logits = model.forward(steps, step === 0 && options.prefill ? { prefill: options.prefill } : {});
      const rows = (await logits.read()) as Float32Array;
      logits.dispose();
      if (step === 0) prefillMs = performance.now() - started;
      const vocab = model.config.vocabSize;
      const next: number[] = [];
      const stillRunning: number[] = [];
      running.forEach((seq, r) => {
        const row = rows.subarray(r * vocab, (r + 1) * vocab);
        if (tokens[seq].length < minNewTokens) for (const id of eos) if (id < vocab) row[id] = -Infinity;
        const token = sample(row);
        tokens[seq].push(token);
        options.onToken?.(seq, token);
        const full = caches[seq].length + 1 > caches[seq].shape.capacity;
        if (!eos.has(token) && tokens[seq].length < maxNewTokens && !full) {
          stillRunning.push(seq);
          next.push(token);
        }
      });
      running = stillRunning;
      steps = running.map((seq, i) => ({ tokens: [next[i]], cache: caches[seq] }));
    }
    const decodeMs = performance.now() - started - prefillMs;
    return {
      tokens,
      stats: {
        promptTokens: prompts.reduce((s, p) => s + p.length, 0),
        newTokens: tokens.reduce((s, t) => s + t.length, 0),
        prefillMs,
        decodeMs,
        kvCacheBytes: caches.reduce((s, c) => s + c.bytes(), 0),
        ...(options.kvCache?.report ? { kvPolicy: options.kvCache.report(caches) } : {}),
      },
    };
  } finally {
    for (const c of caches) c.dispose();
  }
}
