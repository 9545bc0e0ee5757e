/**
 * Block-sparse prefill with MInference's patterns (Jiang et al. 2024): the object handed to
 * DecoderModel.forward / generate as `prefill`. For each layer of a prompt it reads the queries
 * and keys (after RoPE) to the host, builds every head's block mask by that head's pattern (one
 * pattern for all heads, or a per-head choice from head-patterns.ts), and gives the mask to
 * blockSparseAttention, which computes only the kept blocks.
 */
import { ArgumentError } from '../../core/errors.js';
import { tensor } from '../../core/ops.js';
import type { Tensor } from '../../core/tensor.js';
import type { BlockSparsePrefill } from '../../models/llama.js';
import { type AShapeOptions, AShapePattern } from './a-shape.js';
import { blockCount, blockMask, keptBlockShare, type PrefillInput, type PrefillPattern } from './blocks.js';
import { type BlockTopKOptions, BlockTopKPattern } from './block-top-k.js';
import type { HeadPatterns } from './head-patterns.js';
import { type VerticalSlashOptions, VerticalSlashPattern } from './vertical-slash.js';

const PATTERNS = {
  'a-shape': (o: SparsePrefillPatternOptions) => new AShapePattern(o),
  'vertical-slash': (o: SparsePrefillPatternOptions) => new VerticalSlashPattern(o),
  'block-top-k': (o: SparsePrefillPatternOptions) => new BlockTopKPattern(o),
} as const;

export type PrefillPatternName = keyof typeof PATTERNS;
export const PREFILL_PATTERN_NAMES = Object.keys(PATTERNS) as readonly PrefillPatternName[];

/** Every pattern's options (each reads its own; see its file for defaults). */
export type SparsePrefillPatternOptions = AShapeOptions & VerticalSlashOptions & BlockTopKOptions;

export interface SparsePrefillOptions extends SparsePrefillPatternOptions {
  /** One pattern for every head, or a per-head choice (calibrateHeadPatterns). */
  readonly pattern: PrefillPatternName | string | HeadPatterns;
}

export function createPrefillPattern(name: string, options: SparsePrefillPatternOptions = {}): PrefillPattern {
  const make = (PATTERNS as Record<string, ((o: SparsePrefillPatternOptions) => PrefillPattern) | undefined>)[name];
  if (!make) throw new ArgumentError(`unknown sparse-prefill pattern '${name}'; known: ${PREFILL_PATTERN_NAMES.join(', ')}`);
  return make(options);
}

/** Reads a prompt's queries and keys of one layer on the host (the masks are built there). */
export function prefillInput(queries: Tensor, keys: Tensor, scale: number): PrefillInput {
  const [tokens, heads, headDim] = queries.shape;
  const kvHeads = keys.shape[1];
  if (!queries.backend.readSync) throw new ArgumentError(`sparse prefill builds its masks on the host; backend '${queries.backend.name}' has no synchronous read`);
  return { queries: queries.readSync() as Float32Array, keys: keys.readSync() as Float32Array, tokens, heads, kvHeads, headDim, scale };
}

export class SparsePrefill implements BlockSparsePrefill {
  readonly blockSize: number;
  /** keptShare[layer]: share of the causal blocks the last prompt's mask kept (all heads). */
  readonly keptShare: number[] = [];
  private readonly patternOf: (layer: number, head: number) => PrefillPattern;
  readonly description: string;

  constructor(options: SparsePrefillOptions) {
    const { pattern } = options;
    if (typeof pattern === 'string') {
      const one = createPrefillPattern(pattern, options);
      this.patternOf = () => one;
      this.blockSize = one.blockSize;
      this.description = pattern;
    } else {
      this.patternOf = (layer, head) => pattern.patternOf(layer, head);
      this.blockSize = pattern.blockSize;
      this.description = `per head (${pattern.describe()})`;
    }
  }

  blocks(layer: number, queries: Tensor, keys: Tensor, scale: number): Tensor {
    const input = prefillInput(queries, keys, scale);
    const mask = blockMask(input, this.blockSize, (h) => this.patternOf(layer, h));
    const n = blockCount(input.tokens, this.blockSize);
    this.keptShare[layer] = keptBlockShare(mask, input.heads, n);
    return tensor(mask, [input.heads, n, n], 'u8', queries.backend);
  }
}

/** `prefill` for forward/generate: e.g. sparsePrefill({ pattern: 'vertical-slash', verticals: 128 }). */
export function sparsePrefill(options: SparsePrefillOptions): SparsePrefill {
  return new SparsePrefill(options);
}
