/**
 * What every allocator shares: validation of the target and the layers, parameter counts, the
 * exact shift that brings per-layer sparsities to a parameter-weighted mean, and the table of
 * budgets the CLI prints.
 *
 * Bounds: a layer's sparsity stays in [0, 1 - 1/n] for a layer of n weights, i.e. at least one
 * weight survives, so no layer is ever cut out of the network (a fully pruned Linear would make
 * its block output constant, something no allocation paper intends). Uniform is the exception:
 * it is the target everywhere by definition (and real layers are far larger than 1 / (1 - target)).
 */
import { ArgumentError } from '../../core/errors.js';
import type { AllocationLayer } from '../types.js';

/** Throws unless 0 <= target < 1. */
export function checkTarget(target: number): void {
  if (!Number.isFinite(target) || target < 0 || target >= 1) {
    throw new ArgumentError(`target sparsity must be in [0, 1), got ${target}`);
  }
}

/** Throws on duplicate names, bad shapes, or weights that do not fill their shape. */
export function checkLayers(layers: readonly AllocationLayer[]): void {
  const seen = new Set<string>();
  for (const l of layers) {
    if (seen.has(l.name)) throw new ArgumentError(`layer ${l.name} is listed twice`);
    seen.add(l.name);
    if (!Number.isInteger(l.rows) || !Number.isInteger(l.cols) || l.rows < 1 || l.cols < 1) {
      throw new ArgumentError(`layer ${l.name}: shape ${l.rows}x${l.cols} is not a positive integer shape`);
    }
    if (l.weight.length !== l.rows * l.cols) {
      throw new ArgumentError(`layer ${l.name}: ${l.weight.length} weights do not fill ${l.rows}x${l.cols}`);
    }
  }
}

export function parameters(layer: AllocationLayer): number {
  return layer.rows * layer.cols;
}

/** The largest sparsity a layer may take: one weight stays. */
export function maxSparsity(layer: AllocationLayer): number {
  return 1 - 1 / parameters(layer);
}

/** Throws when the target keeps fewer weights than there are layers (each keeps at least one). */
export function checkFeasible(layers: readonly AllocationLayer[], target: number): void {
  const total = layers.reduce((s, l) => s + parameters(l), 0);
  if ((1 - target) * total < layers.length) {
    throw new ArgumentError(`target sparsity ${target} keeps ${((1 - target) * total).toFixed(1)} weights, fewer than one per layer (${layers.length} layers)`);
  }
}

/** Parameter-weighted mean of the budgets over the layers. */
export function weightedSparsity(layers: readonly AllocationLayer[], budgets: ReadonlyMap<string, number>): number {
  let pruned = 0;
  let total = 0;
  for (const l of layers) {
    const s = budgets.get(l.name);
    if (s === undefined) throw new ArgumentError(`no budget for layer ${l.name}`);
    pruned += s * parameters(l);
    total += parameters(l);
  }
  return total === 0 ? 0 : pruned / total;
}

/**
 * s_i + delta, each clamped to [0, maxSparsity_i], with the one delta for which
 * sum n_i s_i = target * sum n_i. The clamped sum is monotone in delta, so bisection finds which
 * layers sit at a bound; delta is then solved in closed form over the free layers (exact up to
 * float rounding), and the bounds checked again.
 */
export function shiftToTarget(layers: readonly AllocationLayer[], sparsities: readonly number[], target: number): number[] {
  checkFeasible(layers, target);
  const n = layers.map(parameters);
  const hi = layers.map(maxSparsity);
  const goal = target * n.reduce((a, b) => a + b, 0);
  const clamp = (i: number, delta: number) => Math.min(hi[i], Math.max(0, sparsities[i] + delta));
  const pruned = (delta: number) => n.reduce((s, ni, i) => s + ni * clamp(i, delta), 0);
  let lo = -1 - Math.max(...sparsities);
  let up = 1 - Math.min(...sparsities);
  for (let it = 0; it < 200 && up - lo > 1e-15; it++) {
    const mid = (lo + up) / 2;
    if (pruned(mid) < goal) lo = mid;
    else up = mid;
  }
  let delta = (lo + up) / 2;
  // Closed form over the layers strictly inside their bounds at this delta.
  let fixed = 0;
  let freeN = 0;
  let freeSum = 0;
  for (let i = 0; i < n.length; i++) {
    const v = sparsities[i] + delta;
    if (v <= 0 || v >= hi[i]) fixed += n[i] * clamp(i, delta);
    else {
      freeN += n[i];
      freeSum += n[i] * sparsities[i];
    }
  }
  if (freeN > 0) delta = (goal - fixed - freeSum) / freeN;
  return n.map((_, i) => clamp(i, delta));
}

/** Rows for printing per-layer budgets (see cli/format.ts table()): one per layer, then the total. */
export function formatBudgets(layers: readonly AllocationLayer[], budgets: ReadonlyMap<string, number>): { head: string[]; rows: string[][] } {
  const head = ['layer', 'block', 'shape', 'weights', 'sparsity', 'kept'];
  const rows = layers.map((l) => {
    const s = budgets.get(l.name);
    if (s === undefined) throw new ArgumentError(`no budget for layer ${l.name}`);
    const n = parameters(l);
    return [l.name, String(l.block), `${l.rows}x${l.cols}`, String(n), `${(100 * s).toFixed(2)}%`, String(Math.round((1 - s) * n))];
  });
  const total = layers.reduce((a, l) => a + parameters(l), 0);
  const mean = weightedSparsity(layers, budgets);
  rows.push(['total', '', '', String(total), `${(100 * mean).toFixed(2)}%`, String(Math.round((1 - mean) * total))]);
  return { head, rows };
}
