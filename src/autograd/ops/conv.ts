/**
 * 2-D convolution by im2col + matmul (Chellapilla et al. 2006, "High Performance Convolutional
 * Neural Networks for Document Processing"), and max / average pooling, on Variables in NCHW.
 *
 * Everything is engine ops, so any backend runs it. Both directions are gathers of rows of a
 * channels-last table [B*H*W, C] (one row per pixel):
 *  - im2col: for each output pixel n and kernel offset k, the input row it reads (padding reads
 *    an extra all-zero row) -> windows [N, K, C], N = B*Ho*Wo, K = kh*kw.
 *  - col2im (the adjoint, a scatter-add): for each input pixel p and offset k, at most one window
 *    row (n, k) read p, so the gradient of p is a gather of those rows (an extra zero row where
 *    none did) summed over k. No scatter op needed; it costs one [B*H*W, K, C] temporary.
 * The index tables are built on the host per call: O(N K) integers, small next to the matmul.
 */
import { ArgumentError, ShapeError } from '../../core/errors.js';
import * as ops from '../../core/ops.js';
import { tidy, type Tensor } from '../../core/tensor.js';
import { record, type Variable } from '../variable.js';
import { oneHot } from './nn.js';

/** A size per spatial axis (height, width), or one for both. */
export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  /** Default 1. */
  readonly stride?: Pair;
  /** Zeros added on each side of each spatial axis. Default 0. */
  readonly padding?: Pair;
}

export interface Pool2dOptions {
  readonly kernel: Pair;
  /** Default: the kernel size (non-overlapping windows, as PyTorch). */
  readonly stride?: Pair;
}

/** Where the sliding windows of one op fall: input [B, ·, H, W] -> output [B, ·, Ho, Wo]. */
interface WindowGeometry {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  readonly kernelH: number;
  readonly kernelW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outH: number;
  readonly outW: number;
}

function pair(op: string, name: string, value: Pair, min: number): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : value;
  if (!Number.isInteger(a) || !Number.isInteger(b) || a < min || b < min) {
    throw new ArgumentError(`${op}: ${name} must be integers >= ${min}, got ${String(value)}`);
  }
  return [a, b];
}

function geometry(op: string, x: readonly number[], kernel: [number, number], stride: [number, number], padding: [number, number]): WindowGeometry {
  if (x.length !== 4) throw new ShapeError(`${op}: the input must be [B, C, H, W], got [${x.join(', ')}]`);
  const [batch, , height, width] = x;
  const [kernelH, kernelW] = kernel;
  const [strideH, strideW] = stride;
  const [padH, padW] = padding;
  // Output size as PyTorch (floor): windows that would run past the padded edge are dropped.
  const outH = Math.floor((height + 2 * padH - kernelH) / strideH) + 1;
  const outW = Math.floor((width + 2 * padW - kernelW) / strideW) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(`${op}: a ${kernelH}x${kernelW} kernel does not fit a ${height}x${width} input with padding ${padH}x${padW}`);
  }
  return { batch, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW };
}

/** im2col indices [N, K]: the table row window (n, k) reads; B*H*W (the zero row) in the padding. */
function windowRows(g: WindowGeometry): Int32Array {
  const { batch, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW } = g;
  const zeroRow = batch * height * width;
  const out = new Int32Array(batch * outH * outW * kernelH * kernelW);
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        for (let i = 0; i < kernelH; i++) {
          const h = oh * strideH - padH + i;
          for (let j = 0; j < kernelW; j++) {
            const w = ow * strideW - padW + j;
            out[at++] = h >= 0 && h < height && w >= 0 && w < width ? (b * height + h) * width + w : zeroRow;
          }
        }
      }
    }
  }
  return out;
}

/** col2im indices [B*H*W, K]: the window row n*K + k that read pixel p at offset k; N*K (a zero row) if none. */
function foldRows(g: WindowGeometry): Int32Array {
  const { batch, height, width, kernelH, kernelW, strideH, strideW, padH, padW, outH, outW } = g;
  const K = kernelH * kernelW;
  const zeroRow = batch * outH * outW * K;
  const out = new Int32Array(batch * height * width * K);
  let at = 0;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < height; h++) {
      for (let w = 0; w < width; w++) {
        for (let i = 0; i < kernelH; i++) {
          // Output row oh reads h at offset i when oh * stride - pad + i = h.
          const th = h + padH - i;
          const oh = th / strideH;
          const rowOk = th >= 0 && th % strideH === 0 && oh < outH;
          for (let j = 0; j < kernelW; j++) {
            const tw = w + padW - j;
            const ow = tw / strideW;
            const ok = rowOk && tw >= 0 && tw % strideW === 0 && ow < outW;
            out[at++] = ok ? ((b * outH + oh) * outW + ow) * K + i * kernelW + j : zeroRow;
          }
        }
      }
    }
  }
  return out;
}

/** A [rows, C] table with one all-zero row appended (the target of padding indices). */
function withZeroRow(rows: Tensor): Tensor {
  return ops.concat([rows, ops.full([1, rows.shape[1]], 0, 'f32', rows.backend)], 0);
}

/** x [B, C, H, W] -> windows [N, K, C] (im2col, channels innermost). */
function im2col(x: Tensor, g: WindowGeometry): Tensor {
  return tidy(() => {
    const channels = x.shape[1];
    const pixels = ops.transpose(x, [0, 2, 3, 1]).reshape([-1, channels]);
    const table = g.padH > 0 || g.padW > 0 ? withZeroRow(pixels) : pixels;
    const K = g.kernelH * g.kernelW;
    const index = ops.tensor(windowRows(g), [g.batch * g.outH * g.outW, K], 'i32', x.backend);
    return ops.gather(table, index);
  });
}

/** The adjoint of im2col: window gradients [N, K, C] -> input gradient [B, C, H, W]. */
function col2im(windows: Tensor, g: WindowGeometry): Tensor {
  return tidy(() => {
    const channels = windows.shape[windows.rank - 1];
    const K = g.kernelH * g.kernelW;
    const index = ops.tensor(foldRows(g), [g.batch * g.height * g.width, K], 'i32', windows.backend);
    const perPixel = ops.sum(ops.gather(withZeroRow(windows.reshape([-1, channels])), index), 1);
    return ops.transpose(perPixel.reshape([g.batch, g.height, g.width, channels]), [0, 3, 1, 2]);
  });
}

/** Per-window results [N, C] -> [B, C, Ho, Wo]. */
function toNchw(rows: Tensor, g: WindowGeometry): Tensor {
  return ops.transpose(rows.reshape([g.batch, g.outH, g.outW, -1]), [0, 3, 1, 2]);
}

/** An output gradient [B, C, Ho, Wo] -> rows [N, C]. */
function toRows(grad: Tensor): Tensor {
  return ops.transpose(grad, [0, 2, 3, 1]).reshape([-1, grad.shape[1]]);
}

/**
 * Cross-correlation as PyTorch's conv2d: x [B, C, H, W], weight [O, C, kh, kw], bias [O] ->
 * [B, O, Ho, Wo]. With windows X [N, K*C] and the weight as W [O, K*C] (offsets outer, channels
 * inner, to match X): Y = X W^T + b, so dW = G^T X, db = sum_n G, dX = G W and dx = col2im(dX).
 */
export function conv2d(x: Variable, weight: Variable, bias: Variable | null = null, options: Conv2dOptions = {}): Variable {
  if (weight.shape.length !== 4) throw new ShapeError(`conv2d: the weight must be [O, C, kh, kw], got [${weight.shape.join(', ')}]`);
  const [outChannels, inChannels, kernelH, kernelW] = weight.shape;
  if (x.shape.length !== 4 || x.shape[1] !== inChannels) {
    throw new ShapeError(`conv2d: the input must be [B, ${inChannels}, H, W] for a weight [${weight.shape.join(', ')}], got [${x.shape.join(', ')}]`);
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== outChannels)) throw new ShapeError(`conv2d: the bias must be [${outChannels}], got [${bias.shape.join(', ')}]`);
  const g = geometry('conv2d', x.shape, [kernelH, kernelW], pair('conv2d', 'stride', options.stride ?? 1, 1), pair('conv2d', 'padding', options.padding ?? 0, 0));
  const { windows, kernelRows, y } = tidy(() => {
    const cols = im2col(x.value, g).reshape([g.batch * g.outH * g.outW, -1]);
    const w = ops.transpose(weight.value, [0, 2, 3, 1]).reshape([outChannels, -1]);
    let rows = ops.matmul(cols, w, { transposeB: true });
    if (bias) rows = ops.add(rows, bias.value);
    return { windows: cols, kernelRows: w, y: toNchw(rows, g) };
  });
  return record(
    y,
    bias ? [x, weight, bias] : [x, weight],
    (grad) =>
      tidy(() => {
        const gy = toRows(grad);
        const dx = x.requiresGrad ? col2im(ops.matmul(gy, kernelRows).reshape([-1, kernelH * kernelW, inChannels]), g) : null;
        const dw = weight.requiresGrad
          ? ops.transpose(ops.matmul(gy, windows, { transposeA: true }).reshape([outChannels, kernelH, kernelW, inChannels]), [0, 3, 1, 2])
          : null;
        return bias ? [dx, dw, bias.requiresGrad ? ops.sum(gy, 0) : null] : [dx, dw];
      }),
    [windows, kernelRows],
  );
}

function poolGeometry(op: string, x: Variable, options: Pool2dOptions): WindowGeometry {
  const kernel = pair(op, 'kernel', options.kernel, 1);
  return geometry(op, x.shape, kernel, pair(op, 'stride', options.stride ?? kernel, 1), [0, 0]);
}

/**
 * Max over each window, per channel: x [B, C, H, W] -> [B, C, Ho, Wo]. The gradient goes to the
 * window's first maximum only (argmax), as PyTorch routes it.
 */
export function maxPool2d(x: Variable, options: Pool2dOptions): Variable {
  const g = poolGeometry('maxPool2d', x, options);
  const K = g.kernelH * g.kernelW;
  const { y, winner } = tidy(() => {
    const windows = im2col(x.value, g);
    return { y: toNchw(ops.max(windows, 1), g), winner: ops.argmax(windows, 1) };
  });
  return record(
    y,
    [x],
    (grad) =>
      tidy(() => {
        const channels = grad.shape[1];
        // [N, C, K] one-hot of the winning offset, turned to the windows' [N, K, C].
        const chosen = ops.transpose(oneHot(winner.reshape([-1]), K).reshape([-1, channels, K]), [0, 2, 1]);
        return [col2im(ops.mul(chosen, toRows(grad).reshape([-1, 1, channels])), g)];
      }),
    [winner],
  );
}

/** Mean over each window, per channel: x [B, C, H, W] -> [B, C, Ho, Wo]; each input in a window gets g / K. */
export function avgPool2d(x: Variable, options: Pool2dOptions): Variable {
  const g = poolGeometry('avgPool2d', x, options);
  const K = g.kernelH * g.kernelW;
  const y = tidy(() => toNchw(ops.mean(im2col(x.value, g), 1), g));
  return record(y, [x], (grad) =>
    tidy(() => {
      const channels = grad.shape[1];
      const spread = ops.mul(toRows(grad).reshape([-1, 1, channels]), ops.full([1, K, 1], 1 / K, 'f32', grad.backend));
      return [col2im(spread, g)];
    }),
  );
}
