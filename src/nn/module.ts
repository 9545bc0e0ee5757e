/**
 * A module owns named parameters (Variables) and maps inputs to outputs; containers name their
 * children's parameters with dotted paths ("layers.0.weight"), as PyTorch's state_dict does, so
 * checkpoints and sparsity controllers address parameters by name.
 */
import type { Variable } from '../autograd/variable.js';

export interface Module {
  /** Every parameter by dotted name, in a stable order. */
  parameters(): Map<string, Variable>;
}

/** Parameters of named children, prefixed "child.". */
export function childParameters(children: readonly (readonly [string, Module])[]): Map<string, Variable> {
  const out = new Map<string, Variable>();
  for (const [name, child] of children) for (const [key, p] of child.parameters()) out.set(`${name}.${key}`, p);
  return out;
}
