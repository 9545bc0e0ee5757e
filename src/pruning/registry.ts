/**
 * Pruning methods, refiners and patterns by the names the CLI and recipes use. Adding a method
 * is one file and one line here. Unknown names are ArgumentErrors that list the valid ones.
 */
import { ArgumentError } from '../core/errors.js';
import { parseNm } from '../sparse/pattern.js';
import { MagnitudeCriterion } from './criteria/magnitude.js';
import { RandomCriterion } from './criteria/random.js';
import { WandaCriterion } from './criteria/wanda.js';
import { ScorePrune } from './methods/score-prune.js';
import { SparseGpt } from './methods/sparsegpt.js';
import { assertSparsity, patternFor } from './patterns/index.js';
import { Dsnot, type DsnotOptions } from './refine/dsnot.js';
import type { Pattern, PatternSpec, PruneMethod, Refiner } from './types.js';

export { patternFor };

/** Options any method may be given; each reads the ones it uses. */
export interface MethodOptions {
  /** Seed of the random criterion (default 0). */
  readonly seed?: number;
  /** Where magnitude/Wanda/random compare unstructured scores; overrides the pattern spec's group. */
  readonly group?: 'row' | 'layer';
  /** Calibration sequences behind the statistics (SparseGPT's nsamples). */
  readonly sequences?: number;
}

const METHODS: Readonly<Record<string, (o: MethodOptions) => PruneMethod>> = {
  magnitude: (o) => new ScorePrune(new MagnitudeCriterion(), { group: o.group }),
  random: (o) => new ScorePrune(new RandomCriterion(o.seed ?? 0), { group: o.group }),
  wanda: (o) => new ScorePrune(new WandaCriterion(), { group: o.group }),
  sparsegpt: (o) => new SparseGpt({ sequences: o.sequences }),
};

const REFINERS: Readonly<Record<string, (o: DsnotOptions) => Refiner>> = {
  dsnot: (o) => new Dsnot(o),
};

export const METHOD_NAMES = Object.keys(METHODS);
export const REFINER_NAMES = Object.keys(REFINERS);

export function methodByName(name: string, options: MethodOptions = {}): PruneMethod {
  const make = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!make) throw new ArgumentError(`unknown pruning method '${name}'; valid methods: ${METHOD_NAMES.join(', ')}`);
  return make(options);
}

export function refinerByName(name: string, options: DsnotOptions = {}): Refiner {
  const make = Object.hasOwn(REFINERS, name) ? REFINERS[name] : undefined;
  if (!make) throw new ArgumentError(`unknown refiner '${name}'; valid refiners: ${REFINER_NAMES.join(', ')}`);
  return make(options);
}

/**
 * A pattern from CLI text: 'unstructured' (compared within `group`, default per row as Wanda),
 * 'N:M' with N kept of every M (e.g. '2:4'; N >= M is rejected by parseNm), 'block:RxC' (e.g.
 * 'block:16x16').
 */
export function parsePatternSpec(text: string, group: 'row' | 'layer' = 'row'): PatternSpec {
  const t = text.trim();
  if (t === 'unstructured') return { kind: 'unstructured', group };
  if (t.includes(':') && !t.startsWith('block')) {
    const { n, m } = parseNm(t);
    return { kind: 'nm', n, m };
  }
  const block = /^block:(\d+)x(\d+)$/.exec(t);
  if (block) {
    const rows = Number(block[1]);
    const cols = Number(block[2]);
    if (rows < 1 || cols < 1) throw new ArgumentError(`pattern '${text}': block sides must be at least 1`);
    return { kind: 'block', rows, cols };
  }
  throw new ArgumentError(`unknown pattern '${text}'; valid patterns: 'unstructured', 'N:M' (N kept of every M, e.g. '2:4'), 'block:RxC' (e.g. 'block:16x16')`);
}

/** The Pattern object for CLI text. */
export function patternByName(text: string, group: 'row' | 'layer' = 'row'): Pattern {
  return patternFor(parsePatternSpec(text, group));
}

/** Throws an ArgumentError unless 0 <= sparsity < 1. */
export function validateSparsity(sparsity: number, where = 'pruning'): void {
  assertSparsity(sparsity, where);
}
