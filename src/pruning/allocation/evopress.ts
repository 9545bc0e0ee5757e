/**
 * EvoPress (Sieberling et al. 2024, "EvoPress: Towards Optimal Dynamic Model Compression via
 * Evolutionary Search"), as github.com/IST-DASLab/EvoPress runs it for unstructured sparsity in
 * evo_prune_search.py:
 *
 *  - The search point is a level per layer; it starts uniform (all at the target, line 240).
 *  - Each generation makes `offspring` distinct children of the parent (lines 265-298). A child
 *    takes min(U{1,3}, U{1,3}) flips (line 270, biased to few); a flip moves one layer one level
 *    down and another one level up (lines 272-291).
 *  - Multi-step selection (lines 300-315, selection() lines 43-84): the candidates are scored
 *    on `tokensPerSelection[0]` calibration tokens and the best `survivorsPerSelection[0]` kept,
 *    those on more tokens, and so on; the parent joins before the last step (elitism, 301-303).
 *    The last step keeps one: the next parent. Lower fitness (KL to the dense model) is better.
 *    Children equal to the parent are not made (they would only repeat its evaluation).
 *
 * Keeping the budget exact. Upstream, a level is a fixed number of weights (weights_diff,
 * src/pruner.py lines 154-156: layer sparsity = target + level * weights_diff / numel), so any
 * down/up pair keeps the total. Here levels are sparsities shared by all layers
 * (AllocationContext.levels), so a flip only pairs two layers of the same parameter count (a
 * size class: in a Llama q/o, k/v, and gate/up/down, across all blocks), and the levels must be
 * evenly spaced, so +step on n weights and -step on n weights cancel. Classes with one layer stay
 * at the target. A layer climbs no higher than the last level that keeps one of its weights
 * (budget.ts); the start, uniform, is taken as given.
 *
 * Differences: evaluate() scores on the first `tokens` calibration tokens, where upstream draws a
 * fresh random minibatch per step (so the same tokens serve every generation here); upstream's
 * max_level / max_total_deviation limits are not offered.
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import type { Allocator, AllocationContext, AllocationLayer } from '../types.js';
import { checkLayers, checkTarget, parameters } from './budget.js';

export interface EvoPressOptions {
  /** Generations of the search (default 50; upstream's scripts run 400). */
  readonly generations?: number;
  /** Children per generation (default 16; upstream 64). */
  readonly offspring?: number;
  /** Survivors after each selection step, ending in 1 (default [4, 2, 1]; upstream 8 2 1). */
  readonly survivorsPerSelection?: readonly number[];
  /**
   * Calibration tokens of each selection step, non-decreasing (default: the last step all the
   * context's tokens, each earlier one a quarter of the next, so / 16, / 4, all for three steps;
   * upstream 2048 16384 65536). Clamped to the context's tokens.
   */
  readonly tokensPerSelection?: readonly number[];
  /** Called after each generation with the parent's fitness on the last step's tokens. */
  readonly onGeneration?: (generation: number, fitness: number) => void;
}

export class EvoPressAllocator implements Allocator {
  readonly name = 'evopress';
  readonly needs = { norms: false, gram: false } as const;
  readonly searches = true;
  readonly generations: number;
  readonly offspring: number;
  readonly survivors: readonly number[];
  readonly tokens: readonly number[] | null;

  constructor(private readonly options: EvoPressOptions = {}) {
    this.generations = options.generations ?? 50;
    this.offspring = options.offspring ?? 16;
    this.survivors = options.survivorsPerSelection ?? [4, 2, 1];
    this.tokens = options.tokensPerSelection ?? null;
    const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;
    if (!Number.isInteger(this.generations) || this.generations < 0) throw new ArgumentError(`evopress: generations must be an integer >= 0, got ${this.generations}`);
    if (!positiveInt(this.offspring)) throw new ArgumentError(`evopress: offspring must be a positive integer, got ${this.offspring}`);
    const s = this.survivors;
    if (s.length === 0 || !s.every(positiveInt) || s[s.length - 1] !== 1 || s.some((v, i) => i > 0 && v > s[i - 1])) {
      throw new ArgumentError(`evopress: survivors per selection must be positive, non-increasing and end in 1, got [${s.join(', ')}]`);
    }
    const t = this.tokens;
    if (t && (t.length !== s.length || !t.every(positiveInt) || t.some((v, i) => i > 0 && v < t[i - 1]))) {
      throw new ArgumentError(`evopress: tokens per selection must be ${s.length} positive non-decreasing integers (one per survivor count), got [${t.join(', ')}]`);
    }
  }

  async allocate(layers: readonly AllocationLayer[], targetSparsity: number, context?: AllocationContext): Promise<Map<string, number>> {
    checkTarget(targetSparsity);
    checkLayers(layers);
    if (!context) throw new ArgumentError('evopress searches: it needs an AllocationContext to evaluate budgets');
    const { levels } = context;
    const step = levels.length > 1 ? levels[1] - levels[0] : 0;
    if (levels.some((v, i) => !(v >= 0 && v < 1) || (i > 0 && (v <= levels[i - 1] || Math.abs(v - levels[i - 1] - step) > 1e-9)))) {
      throw new ArgumentError(`evopress: levels must be evenly spaced increasing sparsities in [0, 1), got [${levels.join(', ')}]`);
    }
    const start = levels.findIndex((v) => Math.abs(v - targetSparsity) < 1e-9);
    if (start < 0) throw new ArgumentError(`evopress: the target ${targetSparsity} is not one of the levels [${levels.join(', ')}]; the search starts from it`);
    if (!(context.tokens >= 1)) throw new ArgumentError('evopress: the context has no calibration tokens');
    const survivors = this.survivors;
    // Default: each step 4x the tokens of the one before, the last on all of them.
    const defaultTokens = survivors.map((_, i) => Math.ceil(context.tokens / 4 ** (survivors.length - 1 - i)));
    const tokens = (this.tokens ?? defaultTokens).map((t) => Math.min(t, context.tokens));

    // Size classes: layers with equal parameter counts, between which a flip keeps the budget.
    const classOf = new Map<number, number[]>();
    layers.forEach((l, i) => {
      const members = classOf.get(parameters(l));
      if (members) members.push(i);
      else classOf.set(parameters(l), [i]);
    });
    const peers = layers.map((l) => classOf.get(parameters(l)) ?? []);
    // Highest level index each layer may climb to: one weight kept (budget.ts), or the start.
    const top = layers.map((l) => Math.max(start, levels.reduce((t, v, i) => (v <= 1 - 1 / parameters(l) ? i : t), 0)));
    const rng = new Random(context.seed);
    const budgetOf = (state: readonly number[]) => new Map(layers.map((l, i) => [l.name, levels[state[i]]]));
    const key = (state: readonly number[]) => state.join(',');

    let parent = layers.map(() => start);
    for (let g = 0; g < this.generations; g++) {
      const children = new Map<string, number[]>();
      for (let attempt = 0; children.size < this.offspring && attempt < 100 * this.offspring; attempt++) {
        const child = mutate(parent, peers, top, rng);
        if (child && key(child) !== key(parent)) children.set(key(child), child);
      }
      if (children.size === 0) break; // no flip possible: every class has one layer, or one level
      let candidates = [...children.values()];
      let best = Infinity;
      for (let stage = 0; stage < survivors.length; stage++) {
        if (stage === survivors.length - 1) candidates.push(parent);
        const scored: { state: number[]; fitness: number }[] = [];
        for (const state of candidates) scored.push({ state, fitness: await context.evaluate(budgetOf(state), tokens[stage]) });
        scored.sort((a, b) => a.fitness - b.fitness);
        candidates = scored.slice(0, survivors[stage]).map((c) => c.state);
        best = scored[0].fitness;
      }
      parent = candidates[0];
      this.options.onGeneration?.(g + 1, best);
    }
    return budgetOf(parent);
  }
}

/**
 * A child of the parent: 1-3 flips (fewer likelier), each one level down in one layer and one up
 * in another of its size class. Null when no flip was possible.
 */
function mutate(parent: readonly number[], peers: readonly (readonly number[])[], top: readonly number[], rng: Random): number[] | null {
  const child = [...parent];
  const flips = Math.min(1 + rng.int(3), 1 + rng.int(3));
  let done = 0;
  for (let f = 0; f < flips; f++) {
    // Layers that can go down with a class peer that can go up.
    const down = child.map((_, i) => i).filter((i) => child[i] > 0 && peers[i].some((j) => j !== i && child[j] < top[j]));
    if (down.length === 0) break;
    const d = down[rng.int(down.length)];
    const up = peers[d].filter((j) => j !== d && child[j] < top[j]);
    const u = up[rng.int(up.length)];
    child[d]--;
    child[u]++;
    done++;
  }
  return done > 0 ? child : null;
}
