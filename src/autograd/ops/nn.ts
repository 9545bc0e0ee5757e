/**
 * Neural-network ops on Variables with hand-written vector-Jacobian products (fewer tensors than
 * composing them from elementwise ops): softmax, log-softmax, RMSNorm, LayerNorm, cross-entropy,
 * embedding lookup, dropout and rotary embedding.
 */
import type { Backend } from '../../core/backend.js';
import { ShapeError } from '../../core/errors.js';
import * as ops from '../../core/ops.js';
import { keep, tidy, type Tensor } from '../../core/tensor.js';
import { record, type Variable } from '../variable.js';

function lastAxis(x: Tensor, axis: number): number {
  const ax = axis < 0 ? axis + x.rank : axis;
  return ax;
}

/** y = softmax(x); dx = y (g - sum(g y)) along the axis. */
export function softmax(x: Variable, axis = -1): Variable {
  const ax = lastAxis(x.value, axis);
  const y = ops.softmax(x.value, ax);
  return record(y, [x], (g) => [tidy(() => ops.mul(y, ops.sub(g, ops.sum(ops.mul(g, y), ax, true))))]);
}

/** y = log softmax(x); dx = g - softmax(x) sum(g) along the axis. */
export function logSoftmax(x: Variable, axis = -1): Variable {
  const ax = lastAxis(x.value, axis);
  const y = ops.logSoftmax(x.value, ax);
  return record(y, [x], (g) => [tidy(() => ops.sub(g, ops.mul(ops.exp(y), ops.sum(g, ax, true))))]);
}

/** Every axis but the last, for summing a per-feature parameter's gradient. */
function sumLeading(t: Tensor): Tensor {
  return tidy(() => ops.sum(t.reshape([-1, t.shape[t.rank - 1]]), 0));
}

/**
 * RMSNorm (Zhang & Sennrich 2019) over the last axis: y = x r w with r = 1 / sqrt(mean(x^2) + eps).
 * With xh = x r and d = g w: dx = r (d - xh mean(d xh)), dw = sum over rows of g xh.
 */
export function rmsNorm(x: Variable, weight: Variable | null, eps = 1e-6): Variable {
  const r = tidy(() => ops.rsqrt(ops.affine(ops.mean(ops.square(x.value), -1, true), 1, eps)));
  const xh = ops.mul(x.value, r);
  const y = weight ? ops.mul(xh, weight.value) : xh.reshape(xh.shape);
  return record(
    y,
    weight ? [x, weight] : [x],
    (g) =>
      tidy(() => {
        const d = weight ? ops.mul(g, weight.value) : g;
        const dx = x.requiresGrad ? ops.mul(r, ops.sub(d, ops.mul(xh, ops.mean(ops.mul(d, xh), -1, true)))) : null;
        const dw = weight?.requiresGrad ? sumLeading(ops.mul(g, xh)) : null;
        return weight ? [dx, dw] : [dx];
      }),
    [r, xh],
  );
}

/**
 * LayerNorm (Ba et al. 2016) over the last axis, biased variance: xh = (x - mean) r,
 * y = xh w + b. With d = g w: dx = r (d - mean(d) - xh mean(d xh)), dw = sum g xh, db = sum g.
 */
export function layerNorm(x: Variable, weight: Variable | null, bias: Variable | null, eps = 1e-5): Variable {
  const { xh, r } = tidy(() => {
    const centered = ops.sub(x.value, ops.mean(x.value, -1, true));
    const rr = ops.rsqrt(ops.affine(ops.mean(ops.square(centered), -1, true), 1, eps));
    return { xh: ops.mul(centered, rr), r: rr };
  });
  const y = tidy(() => {
    let out = weight ? ops.mul(xh, weight.value) : xh.reshape(xh.shape);
    if (bias) out = ops.add(out, bias.value);
    return out;
  });
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : [])];
  return record(
    y,
    inputs,
    (g) =>
      tidy(() => {
        const d = weight ? ops.mul(g, weight.value) : g;
        const dx = x.requiresGrad ? ops.mul(r, ops.sub(ops.sub(d, ops.mean(d, -1, true)), ops.mul(xh, ops.mean(ops.mul(d, xh), -1, true)))) : null;
        const out: (Tensor | null)[] = [dx];
        if (weight) out.push(weight.requiresGrad ? sumLeading(ops.mul(g, xh)) : null);
        if (bias) out.push(bias.requiresGrad ? sumLeading(g) : null);
        return out;
      }),
    [xh, r],
  );
}

/** Identity matrices by backend and size, for one-hot rows (gather of identity rows). */
const identities = new WeakMap<Backend, Map<number, Tensor>>();

/**
 * One-hot rows [..., classes] of integer indices, as rows of an identity matrix (an engine
 * gather, so any backend). The identity takes classes^2 floats: fine for classifier heads and
 * vocabularies of a few thousand, the sizes this library trains.
 */
export function oneHot(indices: Tensor, classes: number): Tensor {
  const backend = indices.backend;
  let byClasses = identities.get(backend);
  if (!byClasses) identities.set(backend, (byClasses = new Map()));
  let eye = byClasses.get(classes);
  if (!eye || eye.disposed) {
    const data = new Float32Array(classes * classes);
    for (let i = 0; i < classes; i++) data[i * classes + i] = 1;
    eye = keep(ops.tensor(data, [classes, classes], 'f32', backend));
    byClasses.set(classes, eye);
  }
  return ops.gather(eye, indices);
}

/**
 * Mean cross-entropy of logits [N, C] against integer targets [N] (i32): -mean log softmax at
 * the target. d logits = (softmax - onehot) / N.
 */
export function crossEntropy(logits: Variable, targets: Tensor): Variable {
  if (logits.shape.length !== 2) throw new ShapeError(`crossEntropy: logits must be [N, C], got [${logits.shape.join(', ')}]`);
  const [n, classes] = logits.shape;
  if (targets.rank !== 1 || targets.shape[0] !== n) throw new ShapeError(`crossEntropy: targets must be [${n}], got [${targets.shape.join(', ')}]`);
  const hot = oneHot(targets, classes);
  const loss = tidy(() => ops.scale(ops.sum(ops.mul(ops.logSoftmax(logits.value, 1), hot).reshape([-1]), 0), -1 / n));
  return record(loss, [logits], (g) => [tidy(() => ops.mul(ops.scale(ops.sub(ops.softmax(logits.value, 1), hot), 1 / n), g))], [hot]);
}

/** Rows of table [V, D] at integer indices [...] -> [..., D]; d table = onehot(indices)^T g. */
export function embedding(table: Variable, indices: Tensor): Variable {
  const [vocab, dim] = table.shape;
  return record(ops.gather(table.value, indices), [table], (g) =>
    tidy(() => [ops.matmul(oneHot(indices.reshape([-1]), vocab), g.reshape([-1, dim]), { transposeA: true })]),
  );
}

/** Inverted dropout (Srivastava et al. 2014): zero with probability p, scale the rest by 1 / (1 - p). */
export function dropout(x: Variable, p: number, seed: number): Variable {
  if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return record(x.value.reshape(x.shape), [x], (g) => [g.reshape(g.shape)]);
  const mask = tidy(() => ops.scale(ops.unary('step', ops.affine(ops.randomUniform(x.shape, seed, 0, 1, x.value.backend), 1, -p)), 1 / (1 - p)));
  return record(ops.mul(x.value, mask), [x], (g) => [ops.mul(g, mask)], [mask]);
}

/** Rotary embedding (ops.rope); its gradient is the inverse rotation, by -theta: sin negated. */
export function rope(x: Variable, cos: Tensor, sin: Tensor, interleaved = false): Variable {
  return record(ops.rope(x.value, cos, sin, interleaved), [x], (g) => [tidy(() => ops.rope(g, cos, ops.neg(sin), interleaved))]);
}
