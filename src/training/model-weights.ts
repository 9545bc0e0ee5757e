/**
 * A model's parameters as host arrays, by the names Module.parameters() gives them: taken to rewind
 * (lottery tickets), to average (model soups) and written back into a model of the same shape;
 * and the weights that sparse training masks in an Mlp (every Linear weight, not the biases).
 */
import { ShapeError } from '../core/errors.js';
import { copyInto, tensor } from '../core/ops.js';
import type { Mlp } from '../nn/mlp.js';
import type { Module } from '../nn/module.js';
import type { SparseLayer } from './types.js';

export type WeightSnapshot = Map<string, Float32Array>;

/**
 * Copies of every parameter. The reads are started before this returns, so a snapshot taken from a
 * training callback holds the values of that step even if training moves on before it resolves.
 */
export function snapshotWeights(model: Module): Promise<WeightSnapshot> {
  const entries = [...model.parameters()].map(async ([name, p]) => [name, (await p.value.read()) as Float32Array] as const);
  return Promise.all(entries).then((pairs) => new Map(pairs));
}

/** Overwrites the model's parameters (in their own tensors) with `snapshot`'s values. */
export function loadWeights(model: Module, snapshot: ReadonlyMap<string, Float32Array>): void {
  for (const [name, p] of model.parameters()) {
    const values = snapshot.get(name);
    if (!values) throw new ShapeError(`load weights: the snapshot has no '${name}'`);
    if (values.length !== p.value.size) throw new ShapeError(`load weights: '${name}' has ${values.length} values in the snapshot, ${p.value.size} in the model`);
    const source = tensor(values, p.value.shape, 'f32', p.value.backend);
    copyInto(p.value, 0, source);
    source.dispose();
  }
}

/** The element-wise mean of snapshots with the same names and sizes (summed in double precision). */
export function averageWeights(snapshots: readonly ReadonlyMap<string, Float32Array>[]): WeightSnapshot {
  if (snapshots.length === 0) throw new ShapeError('average weights: no snapshots');
  const out: WeightSnapshot = new Map();
  for (const [name, first] of snapshots[0]) {
    const sum = new Float64Array(first.length);
    for (const s of snapshots) {
      const values = s.get(name);
      if (!values || values.length !== first.length) throw new ShapeError(`average weights: '${name}' is missing or has another size in one snapshot`);
      for (let i = 0; i < sum.length; i++) sum[i] += values[i];
    }
    out.set(name, Float32Array.from(sum, (v) => v / snapshots.length));
  }
  return out;
}

/** The snapshot with each masked layer's pruned weights set to zero (the rest unchanged). */
export function maskedWeights(snapshot: ReadonlyMap<string, Float32Array>, masks: ReadonlyMap<string, Uint8Array>): WeightSnapshot {
  const out: WeightSnapshot = new Map();
  for (const [name, values] of snapshot) {
    const mask = masks.get(name);
    out.set(name, mask ? values.map((v, i) => (mask[i] ? v : 0)) : values.slice());
  }
  return out;
}

/** Every Linear weight of an Mlp as a sparse layer, named as in parameters() ("layers.0.weight"). */
export function mlpSparseLayers(model: Mlp): SparseLayer[] {
  return model.layers.map((l, i) => ({ name: `layers.${i}.weight`, param: l.weight, rows: l.outFeatures, cols: l.inFeatures }));
}
