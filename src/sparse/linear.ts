/**
 * A Linear layer's product over any weight format: y [..., rows] = x [..., cols] W^T (+ bias),
 * W [rows, cols] as PyTorch's nn.Linear stores it. Dense weights go to matmul; sparse ones to
 * the backend's sparse kernel (linearCsr / linearBitmap / linearBsr / linearNm).
 *
 * Fallback: a backend without the kernel for a format gets a dense copy of the weight, built
 * on the host from a synchronous read of the parts, uploaded, multiplied by matmul and
 * disposed, on every call. The result is the same; the cost is O(rows * cols) host work and a
 * transient dense weight, so the fallback is for correctness, never for speed. Backends that
 * cannot read synchronously (WebGPU) must provide the kernels; without them linear() throws
 * and says to densify once with `await weight.toTensor()`.
 */
import type { GroupedWeight } from '../core/backend.js';
import { BYTES_PER_ELEMENT } from '../core/dtype.js';
import { ArgumentError, ShapeError } from '../core/errors.js';
import { add, matmul, tensor } from '../core/ops.js';
import { formatShape, shapesEqual, sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { BitmapMatrix } from './bitmap.js';
import { BsrMatrix } from './bsr.js';
import { CsrMatrix } from './csr.js';
import { NmMatrix } from './nm.js';

export type SparseWeight = CsrMatrix | BitmapMatrix | BsrMatrix | NmMatrix;
export type LinearWeight = Tensor | SparseWeight;
export type WeightFormat = 'dense' | 'csr' | 'bitmap' | 'bsr' | 'nm';

export function formatOf(weight: LinearWeight): WeightFormat {
  if (weight instanceof Tensor) return 'dense';
  if (weight instanceof CsrMatrix) return 'csr';
  if (weight instanceof BitmapMatrix) return 'bitmap';
  if (weight instanceof BsrMatrix) return 'bsr';
  if (weight instanceof NmMatrix) return 'nm';
  throw new ArgumentError(`formatOf: ${String(weight)} is not a Tensor, CsrMatrix, BitmapMatrix, BsrMatrix or NmMatrix`);
}

/** Bytes the weight takes in its format (a dense tensor: size x element width). */
export function weightBytes(weight: LinearWeight): number {
  return weight instanceof Tensor ? weight.size * BYTES_PER_ELEMENT[weight.dtype] : weight.bytes();
}

/** [rows, cols] of a weight: the output and input features of the layer. */
export function weightShape(weight: LinearWeight): [number, number] {
  if (weight instanceof Tensor) {
    if (weight.rank !== 2) throw new ShapeError(`linear: a dense weight must be [rows, cols], got ${formatShape(weight.shape)}`);
    return [weight.shape[0], weight.shape[1]];
  }
  return [weight.rows, weight.cols];
}

/**
 * y = x W^T + bias for x [..., cols] (any number of leading dims, flattened into one batch
 * dim for the kernel) and W [rows, cols] in any format; bias is [rows] or absent. Returns
 * [..., rows].
 */
export function linear(x: Tensor, weight: LinearWeight, bias?: Tensor | null): Tensor {
  // Written to touch little: a decode step calls this right after kernels that streamed megabytes
  // of weights through the caches, where every extra helper or builtin costs microseconds.
  const format = formatOf(weight);
  const [rows, cols] = checkLinearArguments(x, weight, format, bias);
  const flat = x.rank === 2;
  const lead = flat ? null : x.shape.slice(0, -1);
  const batch = lead ? sizeOf(lead) : x.shape[0];
  const x2d = lead ? x.reshape([batch, cols]) : x;
  let y2d: Tensor;
  try {
    y2d = product(x2d, weight);
  } finally {
    if (x2d !== x) x2d.dispose();
  }
  if (y2d.rank !== 2 || y2d.shape[0] !== batch || y2d.shape[1] !== rows) {
    const got = formatShape(y2d.shape);
    y2d.dispose();
    throw new ShapeError(`linear: the ${format} product returned ${got}, expected [${batch}, ${rows}]`);
  }
  return finishOutput(y2d, lead, rows, bias);
}

/**
 * linear() of one input with several weights (a block's q/k/v, or gate/up): the same results,
 * computed as one job where the backend has a grouped kernel for the case (one activation row,
 * weights of one format: the decode step), else one linear() per weight.
 */
export function linearGroup(x: Tensor, weights: readonly LinearWeight[], biases: readonly (Tensor | null | undefined)[] = []): Tensor[] {
  const shapes = weights.map((w, i) => checkLinearArguments(x, w, formatOf(w), biases[i]));
  if (!x.backend.linearGroup) return weights.map((w, i) => linear(x, w, biases[i]));
  const lead = x.shape.slice(0, -1);
  const batch = lead.reduce((p, d) => p * d, 1);
  const x2d = x.rank === 2 ? x : x.reshape([batch, x.shape[x.rank - 1]]);
  let grouped: Tensor[] | null;
  try {
    grouped = x.backend.linearGroup(x2d, weights.map(groupedWeight));
  } finally {
    if (x2d !== x) x2d.dispose();
  }
  if (!grouped) return weights.map((w, i) => linear(x, w, biases[i]));
  const bad = grouped.findIndex((y, i) => !shapesEqual(y.shape, [batch, shapes[i][0]]));
  if (bad >= 0 || grouped.length !== weights.length) {
    for (const y of grouped) y.dispose();
    throw new ShapeError(`linearGroup: the backend returned ${grouped.map((y) => formatShape(y.shape)).join(', ')} for weights of ${shapes.map(([r]) => r).join(', ')} rows and ${batch} input rows`);
  }
  return grouped.map((y, i) => finishOutput(y, lead, shapes[i][0], biases[i]));
}

function groupedWeight(weight: LinearWeight): GroupedWeight {
  if (weight instanceof Tensor) return { format: 'dense', weight };
  if (weight instanceof CsrMatrix) return { format: 'csr', weight };
  if (weight instanceof BitmapMatrix) return { format: 'bitmap', weight };
  if (weight instanceof NmMatrix) return { format: 'nm', weight };
  return { format: 'bsr', weight };
}

/** y [batch, rows] reshaped to [...lead, rows] (lead null: x was [batch, cols] already), plus the bias. */
function finishOutput(y2d: Tensor, lead: readonly number[] | null, rows: number, bias: Tensor | null | undefined): Tensor {
  let y = y2d;
  if (lead && lead.length !== 1) {
    y = y2d.reshape([...lead, rows]);
    y2d.dispose();
  }
  if (!bias) return y;
  const out = add(y, bias);
  y.dispose();
  return out;
}

/** Checks x, the weight and the bias of one product; returns the weight's [rows, cols]. */
function checkLinearArguments(x: Tensor, weight: LinearWeight, format: WeightFormat, bias: Tensor | null | undefined): [number, number] {
  const [rows, cols] = weightShape(weight);
  const backend = x.backend;
  if (x.dtype !== 'f32') throw new ArgumentError(`linear: x must be f32, got ${x.dtype}`);
  if (x.rank < 1) throw new ShapeError(`linear: x must have a feature axis, got a scalar`);
  if (weight.backend !== backend) throw new ArgumentError(`linear: x and the weight live on different backends (${backend.name}, ${weight.backend.name})`);
  if (weight instanceof Tensor && weight.dtype !== 'f32') throw new ArgumentError(`linear: a dense weight must be f32, got ${weight.dtype}`);
  const features = x.shape[x.rank - 1];
  if (features !== cols) {
    throw new ShapeError(`linear: x ${formatShape(x.shape)} has ${features} input features, but the ${format} weight [${rows}, ${cols}] expects ${cols}`);
  }
  if (bias) {
    if (bias.backend !== backend) throw new ArgumentError(`linear: x and the bias live on different backends (${backend.name}, ${bias.backend.name})`);
    if (bias.dtype !== 'f32') throw new ArgumentError(`linear: bias must be f32, got ${bias.dtype}`);
    if (bias.rank !== 1 || bias.shape[0] !== rows) throw new ShapeError(`linear: bias must be [${rows}] for a [${rows}, ${cols}] weight, got ${formatShape(bias.shape)}`);
  }
  return [rows, cols];
}

/** x [batch, cols] W^T through the weight's kernel, or the dense fallback. */
function product(x: Tensor, weight: LinearWeight): Tensor {
  if (weight instanceof Tensor) return matmul(x, weight, { transposeB: true });
  const backend = x.backend;
  if (weight instanceof CsrMatrix && backend.linearCsr) return backend.linearCsr(x, weight);
  if (weight instanceof BitmapMatrix && backend.linearBitmap) return backend.linearBitmap(x, weight);
  if (weight instanceof BsrMatrix && backend.linearBsr) return backend.linearBsr(x, weight);
  if (weight instanceof NmMatrix && backend.linearNm) return backend.linearNm(x, weight);
  if (!backend.readSync) {
    throw new ArgumentError(
      `linear: backend '${backend.name}' has no ${formatOf(weight)} kernel and cannot read synchronously to build the dense ` +
        `fallback; densify the weight once with \`await weight.toTensor()\` and pass the tensor`,
    );
  }
  const dense = tensor(weight.toDenseSync(), [weight.rows, weight.cols], 'f32', backend);
  try {
    return matmul(x, dense, { transposeB: true });
  } finally {
    dense.dispose();
  }
}
