/**
 * Erdős–Rényi(-Kernel) allocation (Mocanu et al. 2018; Evci et al. 2020, "Rigging the Lottery",
 * RigL). For a Linear of n_in inputs and n_out outputs (no kernel, so the ER form):
 *
 *   density_l = eps * (n_in + n_out) / (n_in * n_out),
 *
 * with eps such that sum_l n_l * density_l = (1 - target) * sum_l n_l. Small layers come out
 * denser than large ones. When some density exceeds 1, the layer(s) with the largest raw ratio
 * are made dense and eps is solved again over the rest, until none exceeds 1 — one step at a
 * time, as RigL's get_sparsities_erdos_renyi (rigl/sparse_utils.py, lines 127-188) does, because
 * making one layer dense lowers eps and may bring the others back under 1.
 *
 * RigL rounds each layer to whole zeros (floor) before solving; here densities stay real, so the
 * parameter-weighted mean is the target up to float rounding and the pipeline rounds per layer.
 */
import type { Allocator, AllocationLayer } from '../types.js';
import { checkFeasible, checkLayers, checkTarget, parameters, shiftToTarget } from './budget.js';

export class ErkAllocator implements Allocator {
  readonly name = 'erk';
  readonly needs = { norms: false, gram: false } as const;
  readonly searches = false;

  async allocate(layers: readonly AllocationLayer[], targetSparsity: number): Promise<Map<string, number>> {
    checkTarget(targetSparsity);
    checkLayers(layers);
    if (layers.length === 0) return new Map();
    checkFeasible(layers, targetSparsity);
    const density = erkDensities(layers, targetSparsity);
    let sparsity = density.map((d) => Math.max(0, 1 - d));
    // Only at extreme targets can a layer's ER density fall under one weight; the shared shift
    // then restores the bound (and is the identity otherwise).
    if (sparsity.some((s, i) => s > 1 - 1 / parameters(layers[i]))) sparsity = shiftToTarget(layers, sparsity, targetSparsity);
    return new Map(layers.map((l, i) => [l.name, sparsity[i]]));
  }
}

/** The ER densities of the layers at a target sparsity, dense layers at exactly 1. */
export function erkDensities(layers: readonly AllocationLayer[], target: number): number[] {
  // rows = n_out, cols = n_in.
  return solveErkDensities(layers.map(parameters), layers.map((l) => (l.rows + l.cols) / (l.rows * l.cols)), target);
}

/**
 * Densities eps * raw_l (dense layers at exactly 1) with sum_l n_l density_l = (1 - target) sum_l n_l,
 * for layers of n_l weights and raw scores raw_l (ER's or ERK's shape ratio).
 */
export function solveErkDensities(n: readonly number[], raw: readonly number[], target: number): number[] {
  const dense = new Set<number>();
  let eps = 0;
  for (;;) {
    // eps * sum_{not dense} raw_l n_l + sum_{dense} n_l = (1 - target) * sum_l n_l
    let rhs = 0;
    let divisor = 0;
    let maxRaw = 0;
    for (let i = 0; i < n.length; i++) {
      if (dense.has(i)) rhs -= target * n[i];
      else {
        rhs += (1 - target) * n[i];
        divisor += raw[i] * n[i];
        maxRaw = Math.max(maxRaw, raw[i]);
      }
    }
    if (divisor === 0) break; // every layer dense (target 0)
    eps = rhs / divisor;
    if (eps * maxRaw <= 1) break;
    for (let i = 0; i < n.length; i++) if (!dense.has(i) && raw[i] === maxRaw) dense.add(i);
  }
  return n.map((_, i) => (dense.has(i) ? 1 : eps * raw[i]));
}
