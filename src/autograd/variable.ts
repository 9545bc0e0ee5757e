/**
 * Reverse-mode automatic differentiation over the engine's eager ops: micrograd's tape
 * (Karpathy, 2020) with tensors for scalars. Every op on Variables computes its value at once
 * and, when an input needs a gradient, records on the result its inputs and a function from the
 * result's gradient to theirs (the vector-Jacobian products). backward() visits the results in
 * reverse topological order and sums the gradients reaching each. Values and gradients are
 * engine tensors and every rule is written with engine ops, so the same code runs on any backend.
 */
import { add, full } from '../core/ops.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Shape } from '../core/shape.js';

/**
 * The gradients of an op's inputs, in input order, from its output's gradient (null: none
 * needed). Each must be a tensor of its own (a reshape view of `grad` is fine, `grad` itself is
 * not): backward() disposes `grad` and each returned gradient once it has passed them on.
 */
export type VectorJacobianProduct = (grad: Tensor) => readonly (Tensor | null)[];

export class Variable {
  /** d(loss)/d(this) summed over backward() calls, for leaves that require it (zeroGrad() clears). */
  grad: Tensor | null = null;

  constructor(
    readonly value: Tensor,
    readonly requiresGrad: boolean,
    readonly inputs: readonly Variable[] = [],
    readonly vjp: VectorJacobianProduct | null = null,
    readonly name = '',
    /** Tensors kept only for `vjp` (disposed with the graph). */
    readonly saved: readonly Tensor[] = [],
  ) {}

  get shape(): Shape {
    return this.value.shape;
  }

  /** A leaf: a parameter or an input, not computed from other Variables. */
  get isLeaf(): boolean {
    return this.vjp === null;
  }

  toString(): string {
    return `Variable(${this.name || 'unnamed'}, [${this.shape.join(', ')}]${this.requiresGrad ? ', grad' : ''})`;
  }
}

/** A trainable leaf: its gradient is kept in `.grad` by backward(). */
export function parameter(value: Tensor, name = ''): Variable {
  if (value.dtype !== 'f32') throw new ArgumentError(`parameter ${name}: only f32 tensors have gradients, got ${value.dtype}`);
  return new Variable(value, true, [], null, name);
}

/** A leaf that needs no gradient (inputs, targets, masks). */
export function constant(value: Tensor, name = ''): Variable {
  return new Variable(value, false, [], null, name);
}

let recording = 0;

/** Runs `fn` without recording (evaluation, optimizer updates): results carry no graph. */
export function noGrad<T>(fn: () => T): T {
  recording++;
  try {
    return fn();
  } finally {
    recording--;
  }
}

/**
 * The result of an op: records `vjp` when some input requires a gradient and recording is on.
 * `saved` are tensors the op computed only for its vjp; without a graph they are freed at once.
 */
export function record(value: Tensor, inputs: readonly Variable[], vjp: VectorJacobianProduct, saved: readonly Tensor[] = []): Variable {
  const requiresGrad = recording === 0 && inputs.some((v) => v.requiresGrad);
  if (requiresGrad) return new Variable(value, true, inputs, vjp, '', saved);
  for (const t of saved) t.dispose();
  return new Variable(value, false);
}

/** Variables reachable from `root` that require gradients, inputs before the results made from them. */
function topologicalOrder(root: Variable): Variable[] {
  const order: Variable[] = [];
  const seen = new Set<Variable>();
  // Iterative depth-first search: a deep network would overflow the call stack.
  const stack: [Variable, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [v, next] = top;
    if (next < v.inputs.length) {
      top[1]++;
      const input = v.inputs[next];
      if (input.requiresGrad && !seen.has(input)) {
        seen.add(input);
        stack.push([input, 0]);
      }
    } else {
      stack.pop();
      order.push(v);
    }
  }
  return order;
}

export interface BackwardOptions {
  /** The gradient flowing into `root` (root's shape); needed unless root is a scalar. */
  readonly seed?: Tensor;
  /**
   * Keep the values of intermediate results (and what their ops saved) so that they can be read
   * or differentiated again. Default false: as PyTorch's retain_graph=False, each is freed once
   * its gradient has been passed on, which keeps a training step's memory bounded. `root` and
   * leaves are never freed.
   */
  readonly retainGraph?: boolean;
}

/**
 * Adds d(root)/d(leaf) into every leaf's `.grad`. Gradients of intermediate results are freed as
 * soon as they have been passed on.
 */
export function backward(root: Variable, options: BackwardOptions = {}): void {
  const { seed, retainGraph = false } = options;
  if (!root.requiresGrad) throw new ArgumentError('backward: the result does not depend on any parameter');
  if (seed === undefined && root.value.size !== 1) {
    throw new ShapeError(`backward: the result has shape [${root.shape.join(', ')}]; pass the gradient to start from, or reduce it to a scalar`);
  }
  if (seed !== undefined && (seed.size !== root.value.size || seed.rank !== root.value.rank)) {
    throw new ShapeError(`backward: seed shape [${seed.shape.join(', ')}] differs from the result's [${root.shape.join(', ')}]`);
  }
  // A view of the seed (shared storage), so that every tensor in `grads` is ours to dispose.
  const grads = new Map<Variable, Tensor>([[root, seed ? seed.reshape(root.shape) : full(root.shape, 1, 'f32', root.value.backend)]]);
  const order = topologicalOrder(root);
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    const g = grads.get(v);
    if (!g) continue;
    grads.delete(v);
    if (v.isLeaf) {
      if (v.grad) {
        const sum = add(v.grad, g);
        v.grad.dispose();
        g.dispose();
        v.grad = sum;
      } else v.grad = g;
      continue;
    }
    const inputGrads = v.vjp!(g);
    g.dispose();
    if (!retainGraph) {
      for (const t of v.saved) t.dispose();
      if (v !== root) v.value.dispose();
    }
    v.inputs.forEach((input, k) => {
      const gi = inputGrads[k];
      if (!gi) return;
      if (!input.requiresGrad) {
        gi.dispose();
        return;
      }
      const before = grads.get(input);
      if (before) {
        grads.set(input, add(before, gi));
        before.dispose();
        gi.dispose();
      } else grads.set(input, gi);
    });
  }
}

/** Clears the gradients of `params` (before the next backward, as PyTorch's zero_grad(set_to_none=True)). */
export function zeroGrad(params: Iterable<Variable>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
