/**
 * Kernels that reduce along one axis: softmax, logSoftmax, rmsNorm, layerNorm, sum/mean/max/min,
 * argmax and top-k. The tensor is viewed as [outer, n, inner] (core's axisSplit), so a "row" is
 * the n elements `base + j * inner`, and any axis works without a transpose.
 *
 * Each body is written once against a small vocabulary, `for (var j = j0; j < n; j += js)` and
 * `row_<op>_<type>(partial, li)`, which two strategies implement:
 *  - 'group': a workgroup per row; threads stride over the row and combine their partials by a
 *    tree reduction in workgroup memory (long rows: parallel, and pairwise sums round less);
 *  - 'thread': a thread per row, which loops over the whole row (short rows, where a workgroup
 *    would idle; neighbouring threads read neighbouring columns when inner > 1).
 */
import { Params } from '../params.js';
import { type Binding, ENTRY_ARGS, groupsFor, type KernelSpec, read, WORKGROUP_SIZE, write } from './common.js';

export type RowStrategy = 'group' | 'thread';
export type RowType = 'f32' | 'i32';
export type RowReduceOp = 'sum' | 'max' | 'min';

export interface RowShape {
  readonly outer: number;
  readonly n: number;
  readonly inner: number;
}

/** Rows this long get a workgroup each. */
const GROUP_ROW_LENGTH = 64;

const COMBINE: Record<RowType, Record<RowReduceOp, string>> = {
  // max/min propagate NaN, as the references do (WGSL's max/min leave NaN unspecified).
  f32: { sum: 'a + b', max: 'select(a, b, b > a || is_nan(b))', min: 'select(a, b, b < a || is_nan(b))' },
  i32: { sum: 'a + b', max: 'max(a, b)', min: 'min(a, b)' },
};

/** Identity of each reduction, as WGSL. */
export const IDENTITY: Record<RowType, Record<RowReduceOp, string>> = {
  f32: { sum: '0.0', max: 'neg_inf()', min: 'pos_inf()' },
  i32: { sum: '0i', max: 'bitcast<i32>(0x80000000u)', min: '2147483647i' },
};

// Top-k order: NaN first (as the references), then larger values, ties by lower index.
const BEFORE: Record<RowType, string> = {
  f32: /* wgsl */ `
fn before_f32(a: f32, ai: u32, b: f32, bi: u32) -> bool {
  let na = is_nan(a);
  let nb = is_nan(b);
  if (na || nb) { return na && (!nb || ai < bi); }
  if (a != b) { return a > b; }
  return ai < bi;
}`,
  i32: /* wgsl */ `
fn before_i32(a: i32, ai: u32, b: i32, bi: u32) -> bool {
  if (a != b) { return a > b; }
  return ai < bi;
}`,
};

function reducers(strategy: RowStrategy, t: RowType): string {
  const out: string[] = [BEFORE[t], `struct Pick_${t} { v: ${t}, i: u32 }`];
  if (strategy === 'group') out.push(`var<workgroup> red_${t}: array<${t}, ${WORKGROUP_SIZE}>;`);
  if (strategy === 'group') out.push(`var<workgroup> pick_v_${t}: array<${t}, ${WORKGROUP_SIZE}>;`, `var<workgroup> pick_i_${t}: array<u32, ${WORKGROUP_SIZE}>;`);
  for (const op of ['sum', 'max', 'min'] as const) {
    out.push(`fn comb_${op}_${t}(a: ${t}, b: ${t}) -> ${t} { return ${COMBINE[t][op]}; }`);
    out.push(
      strategy === 'thread'
        ? `fn row_${op}_${t}(v: ${t}, li: u32) -> ${t} { return v; }`
        : /* wgsl */ `
fn row_${op}_${t}(v: ${t}, li: u32) -> ${t} {
  red_${t}[li] = v;
  workgroupBarrier();
  for (var s = ${WORKGROUP_SIZE / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { red_${t}[li] = comb_${op}_${t}(red_${t}[li], red_${t}[li + s]); }
    workgroupBarrier();
  }
  let r = red_${t}[0];
  workgroupBarrier(); // everyone has read r before the array is reused
  return r;
}`,
    );
  }
  out.push(
    strategy === 'thread'
      ? `fn row_pick_${t}(v: ${t}, i: u32, li: u32) -> Pick_${t} { return Pick_${t}(v, i); }`
      : /* wgsl */ `
fn row_pick_${t}(v: ${t}, i: u32, li: u32) -> Pick_${t} {
  pick_v_${t}[li] = v;
  pick_i_${t}[li] = i;
  workgroupBarrier();
  for (var s = ${WORKGROUP_SIZE / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) {
      let ov = pick_v_${t}[li + s];
      let oi = pick_i_${t}[li + s];
      if (oi != NONE && (pick_i_${t}[li] == NONE || before_${t}(ov, oi, pick_v_${t}[li], pick_i_${t}[li]))) {
        pick_v_${t}[li] = ov;
        pick_i_${t}[li] = oi;
      }
    }
    workgroupBarrier();
  }
  let r = Pick_${t}(pick_v_${t}[0], pick_i_${t}[0]);
  workgroupBarrier();
  return r;
}`,
  );
  return out.join('\n');
}

function rowMain(strategy: RowStrategy, body: string): string {
  const locate =
    strategy === 'group'
      ? `let row = linear_group(wid, nwg);\n  if (row >= p_rows()) { return; } // uniform: keeps the barriers legal\n  let j0 = li;\n  let js = ${WORKGROUP_SIZE}u;`
      : `let row = linear_group(wid, nwg) * ${WORKGROUP_SIZE}u + li;\n  if (row >= p_rows()) { return; }\n  let j0 = 0u;\n  let js = 1u;`;
  return /* wgsl */ `
const NONE = 0xffffffffu;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  ${locate}
  let n = p_n();
  let inner = p_inner();
  let base = (row / inner) * n * inner + row % inner;
  ${body}
}`;
}

/** A kernel over the rows of `shape`; `extra` adds op parameters after rows, n, inner. */
function rowKernel(
  key: string,
  shape: RowShape,
  bindings: readonly Binding[],
  types: readonly RowType[],
  body: string,
  extra: (p: Params) => Params = (p) => p,
  strategy: RowStrategy = shape.n >= GROUP_ROW_LENGTH ? 'group' : 'thread',
): KernelSpec {
  const rows = shape.outer * shape.inner;
  return {
    key: `${key}:${strategy}`,
    params: extra(new Params().u32('rows', rows).u32('n', shape.n).u32('inner', shape.inner)),
    bindings,
    workgroups: strategy === 'group' ? rows : groupsFor(rows),
    body: () => [...types.map((t) => reducers(strategy, t)), rowMain(strategy, body)].join('\n'),
  };
}

const AT = 'base + j * inner';
const EACH = 'for (var j = j0; j < n; j += js)';

export function softmaxKernel(x: GPUBuffer, y: GPUBuffer, shape: RowShape, log: boolean): KernelSpec {
  // Max-subtracted (stable): exp never sees a positive argument, so logits of 1000 cannot overflow.
  // logSoftmax subtracts in two steps, (x - m) - log(s), so large logits keep the small result's precision.
  const store = log ? `${EACH} { let k = ${AT}; Y[k] = (X[k] - m) - ls; }` : `${EACH} { let k = ${AT}; Y[k] = exp(X[k] - m) / s; }`;
  const body = `
  var m = neg_inf();
  ${EACH} { m = comb_max_f32(m, X[${AT}]); }
  m = row_max_f32(m, li);
  var s = 0.0;
  ${EACH} { s += exp(X[${AT}] - m); }
  s = row_sum_f32(s, li);
  let ls = log(s);
  ${store}`;
  return rowKernel(log ? 'logsoftmax' : 'softmax', shape, [read('X', 'f32', x), write('Y', 'f32', y)], ['f32'], body);
}

export function rmsNormKernel(x: GPUBuffer, weight: GPUBuffer | null, y: GPUBuffer, rows: number, n: number, eps: number): KernelSpec {
  const bindings = [read('X', 'f32', x), ...(weight ? [read('W', 'f32', weight)] : []), write('Y', 'f32', y)];
  const body = `
  var ss = 0.0;
  ${EACH} { let v = X[${AT}]; ss += v * v; }
  ss = row_sum_f32(ss, li);
  let inv = 1.0 / sqrt(ss / f32(n) + p_eps());
  ${EACH} { let k = ${AT}; Y[k] = X[k] * inv${weight ? ' * W[j]' : ''}; }`;
  return rowKernel(`rmsnorm:${weight ? 'w' : '-'}`, { outer: rows, n, inner: 1 }, bindings, ['f32'], body, (p) => p.f32('eps', eps));
}

export function layerNormKernel(
  x: GPUBuffer,
  weight: GPUBuffer | null,
  bias: GPUBuffer | null,
  y: GPUBuffer,
  rows: number,
  n: number,
  eps: number,
): KernelSpec {
  const bindings = [
    read('X', 'f32', x),
    ...(weight ? [read('W', 'f32', weight)] : []),
    ...(bias ? [read('Bias', 'f32', bias)] : []),
    write('Y', 'f32', y),
  ];
  // Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2, which cancels.
  const body = `
  var s = 0.0;
  ${EACH} { s += X[${AT}]; }
  let mu = row_sum_f32(s, li) / f32(n);
  var v = 0.0;
  ${EACH} { let d = X[${AT}] - mu; v += d * d; }
  let inv = 1.0 / sqrt(row_sum_f32(v, li) / f32(n) + p_eps());
  ${EACH} { let k = ${AT}; Y[k] = (X[k] - mu) * inv${weight ? ' * W[j]' : ''}${bias ? ' + Bias[j]' : ''}; }`;
  const key = `layernorm:${weight ? 'w' : '-'}${bias ? 'b' : '-'}`;
  return rowKernel(key, { outer: rows, n, inner: 1 }, bindings, ['f32'], body, (p) => p.f32('eps', eps));
}

export function reduceKernel(op: RowReduceOp | 'mean', t: RowType, x: GPUBuffer, y: GPUBuffer, shape: RowShape): KernelSpec {
  const r: RowReduceOp = op === 'mean' ? 'sum' : op;
  const body = `
  var acc = ${IDENTITY[t][r]};
  ${EACH} { acc = comb_${r}_${t}(acc, X[${AT}]); }
  acc = row_${r}_${t}(acc, li);
  if (j0 == 0u) { Y[row] = acc${op === 'mean' ? ' / f32(n)' : ''}; }`;
  return rowKernel(`reduce:${op}:${t}`, shape, [read('X', t, x), write('Y', t, y)], [t], body);
}

/**
 * The k first elements of each row in top-k order, by k selection rounds: round s picks the first
 * element that comes after round s-1's pick. O(k n / threads) per row, no scratch memory; k = 1
 * with no values is argmax. Requires n >= k >= 1.
 */
export function selectKernel(t: RowType, x: GPUBuffer, values: GPUBuffer | null, indices: GPUBuffer, shape: RowShape, k: number): KernelSpec {
  const bindings = [read('X', t, x), ...(values ? [write('V', t, values)] : []), write('I', 'i32', indices)];
  const body = `
  var prev_v = X[base];
  var prev_i = 0u;
  for (var s = 0u; s < p_k(); s++) {
    var best_v = prev_v;
    var best_i = NONE;
    ${EACH} {
      let v = X[${AT}];
      if ((s == 0u || before_${t}(prev_v, prev_i, v, j)) && (best_i == NONE || before_${t}(v, j, best_v, best_i))) {
        best_v = v;
        best_i = j;
      }
    }
    let pick = row_pick_${t}(best_v, best_i, li);
    prev_v = pick.v;
    prev_i = pick.i;
    if (j0 == 0u) {
      let o = (row / inner) * p_k() * inner + s * inner + row % inner;
      ${values ? 'V[o] = pick.v;' : ''}
      I[o] = i32(pick.i);
    }
  }`;
  return rowKernel(`select:${t}:${values ? 'v' : '-'}`, shape, bindings, [t], body, (p) => p.u32('k', k));
}
