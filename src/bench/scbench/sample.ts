/**
 * SCBench (Li et al. 2024, "SCBench: A KV cache-centric analysis of long-context methods"): the
 * shape every task generator returns — one shared context, then several turns that each ask a
 * different item of it, with the gold answer and the way SCBench scores that answer.
 *
 * Sizes are in the units of `measure` (default: characters; every generated text is ASCII, so
 * characters are bytes and also tokens for a byte-level model). With a subword tokenizer pass
 * its token count as `measure`: pieces are measured one by one and summed, so the total is
 * approximate where the tokenizer merges across piece boundaries.
 */
import { ArgumentError } from '../../core/errors.js';

/** How SCBench's compute_scores.py scores a prediction; see scoring.ts. */
export type ScoringKind = 'substring' | 'all-substrings' | 'first-number' | 'first-integer';

/**
 * 'scbench': the prompts and layouts of the paper's tasks (JSON objects, prose questions).
 * 'compact': terse one-line records and `?key:` questions for small byte-level models
 * (../shared/NOTES-retrieval-models.md); same items, same answers, same scoring.
 */
export type TaskStyle = 'scbench' | 'compact';

export interface ScbenchTurn {
  /** The question as appended to the cache (it ends where the answer begins). */
  readonly question: string;
  /** The gold answer as text: what multi-turn mode appends before the next question. */
  readonly answer: string;
  /** What scoring looks for: one string, or every variable name for multi-hop. */
  readonly gold: readonly string[];
  readonly scoring: ScoringKind;
}

export interface ScbenchSample {
  readonly task: string;
  readonly seed: number;
  readonly style: TaskStyle;
  /** Instruction before the context; never names an item, so it may be prefilled question-blind. */
  readonly preamble: string;
  readonly context: string;
  /** Between the context and the first question. */
  readonly contextSeparator: string;
  /** Between a turn's answer and the next question (multi-turn mode). */
  readonly answerSeparator: string;
  readonly turns: readonly ScbenchTurn[];
}

export interface CommonTaskOptions {
  readonly seed: number;
  /** Target size of `context` in `measure` units; the result is at most this and short of it by less than one item. */
  readonly contextLength?: number;
  /** Questions asked, each about a different item. Default 5 (SCBench's turns per context). */
  readonly turns?: number;
  /** Default 'scbench'. */
  readonly style?: TaskStyle;
  /** Length of a text in the units of contextLength. Default: characters. */
  readonly measure?: (text: string) => number;
}

export interface ResolvedCommon {
  readonly seed: number;
  readonly contextLength: number | undefined;
  readonly turns: number;
  readonly style: TaskStyle;
  readonly measure: (text: string) => number;
}

export const DEFAULT_TURNS = 5;

export function resolveCommon(task: string, options: CommonTaskOptions): ResolvedCommon {
  if (!Number.isInteger(options.seed)) throw new ArgumentError(`${task}: seed must be an integer, got ${options.seed}`);
  const style = options.style ?? 'scbench';
  if (style !== 'scbench' && style !== 'compact') throw new ArgumentError(`${task}: style must be 'scbench' or 'compact', got '${String(style)}'`);
  return {
    seed: options.seed,
    contextLength: options.contextLength === undefined ? undefined : positiveInteger(task, 'contextLength', options.contextLength),
    turns: positiveInteger(task, 'turns', options.turns ?? DEFAULT_TURNS),
    style,
    measure: options.measure ?? ((text) => text.length),
  };
}

export function positiveInteger(task: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ArgumentError(`${task}: ${name} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Exactly one of `contextLength` (fill) and an explicit item count must size a list task.
 * Returns the item count, or undefined when the list is filled to contextLength.
 */
export function itemCountOrFill(task: string, itemName: string, count: number | undefined, common: ResolvedCommon): number | undefined {
  if (count !== undefined && common.contextLength !== undefined) {
    throw new ArgumentError(`${task}: give either contextLength or ${itemName}, not both`);
  }
  if (count === undefined && common.contextLength === undefined) {
    throw new ArgumentError(`${task}: give contextLength (to fill) or ${itemName} (an exact count)`);
  }
  return count === undefined ? undefined : positiveInteger(task, itemName, count);
}

/** Characters that the layouts use as delimiters, so they may not occur inside an item. */
const RESERVED = new Set(['"', '\\', ':', ',', '?', '=', '*', '#', '[', ']', '{', '}']);

/** An alphabet of distinct printable ASCII characters, none of them whitespace or a delimiter. */
export function checkAlphabet(task: string, name: string, alphabet: string, minSize = 2): string {
  const chars = [...alphabet];
  if (new Set(chars).size !== chars.length) throw new ArgumentError(`${task}: ${name} repeats a character: '${alphabet}'`);
  if (chars.length < minSize) throw new ArgumentError(`${task}: ${name} needs at least ${minSize} characters, got '${alphabet}'`);
  for (const c of chars) {
    const code = c.charCodeAt(0);
    if (code <= 32 || code >= 127 || RESERVED.has(c)) {
      throw new ArgumentError(`${task}: ${name} may hold printable ASCII other than whitespace and ${[...RESERVED].join(' ')}; got ${JSON.stringify(c)}`);
    }
  }
  return alphabet;
}

/** The turns' item indices: `turns` distinct indices of `0..count-1` in random order. */
export function pickDistinct(task: string, itemName: string, count: number, turns: number, nextInt: (n: number) => number): number[] {
  if (turns > count) throw new ArgumentError(`${task}: ${turns} turns need ${turns} distinct ${itemName}, but the context holds ${count}`);
  const indices = Array.from({ length: count }, (_, i) => i);
  // Partial Fisher-Yates: only the first `turns` places are needed.
  for (let i = 0; i < turns; i++) {
    const j = i + nextInt(count - i);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, turns);
}
