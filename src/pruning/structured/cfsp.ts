/**
 * CFSP (Wang et al. 2024, "CFSP: An Efficient Structured Pruning Framework for LLMs with
 * Coarse-to-Fine Activation Information"; code github.com/wyxscir/CFSP, lib/prune.py prune_cfsp):
 * whole MLP channels (rows of gate/up, columns of down) and whole attention KV groups (a KV head
 * with the query heads that read it: rows of q/k/v, columns of o) leave the block, which becomes
 * a smaller dense block. Pure functions over host arrays; the pipeline moves weights in and out.
 *
 * Coarse stage, per block l (prune.py lines 261-280, 353-380; block_metrics.py):
 *   d_l = mean over calibration tokens of arccos(cos(h_in, h_out)) / pi, the angular distance
 *         between the block's input and output hidden states (cos of a zero vector taken as 0.5);
 *   s_l = sigmoid(a * (D_l - mean D) / 1e4), D_l = d_l * 131072;
 *   if max s / mean s * (1 - p) >= 1, deviations from the mean shrink by
 *         mean s * (1 / (1 - p) - 1) / (max s - mean s) / 1.05  (no block keeps more than all);
 *   keep_l = s_l / mean s * (1 - p), sparsity_l = 1 - keep_l: the mean is p, and blocks that
 *   change their input more keep more.
 * Upstream D_l is the sum over its calibration tokens (128 x 1024: main.py lines 42, 52) of the
 * distances; the per-token mean times 131072 gives the same number there and does not drift with
 * our token count.
 *
 * Fine stage, per block: a channel's score is the activation-weighted magnitude of its weights in
 * each matrix (Wanda's |W_ij| * ||X_j||_2, summed over the channel's weights), each matrix's
 * term normalized by its total over channels so the matrices count equally, then summed:
 *   MLP channel c:  sum_j |G_cj| x_j / Z_G + sum_j |U_cj| x_j / Z_U + sum_r |D_rc| a_c / Z_D,
 *   KV group g:     the same over the rows of q (its query heads), k, v (its KV head), and the
 *                   columns of o (its query heads), four terms,
 * x = sqrt(sumSquares) of the Linear's input, a = that of down's input. The top channels/groups
 * by score stay, in their original order.
 * Upstream's released code (prune.py lines 309-330, local_metrics three_w_one_wa) normalizes
 * each |W| by its sum over the very dimension it then averages over, so the weight terms
 * cancel to a constant and its ranking is by ||a_c|| alone; we keep the weights in (the paper
 * describes a score of weights and activations). Upstream prunes only the MLP; heads are our
 * extension with the same score.
 *
 * Keep counts (cfspKeepCounts): MLP widths are rounded to multiples of 8 (upstream's
 * --cuda_friendly rounds to 128, line 387; 8 matches the 4x8 register tile of our WASM GEMM and
 * still leaves small models a choice of widths),
 * by largest remainder across blocks so the total stays as close to the budget as the multiple
 * allows; a block at sparsity 0 keeps its full width even when that is not a multiple.
 * Attention keeps whole KV groups, at least one.
 */
import { ArgumentError } from '../../core/errors.js';
import type { LinearInputGroup } from '../../models/llama.js';
import type { LinearInputStats } from '../types.js';

/** A Linear on the host: weight [rows = out, cols = in] row-major, optional bias [rows]. */
export interface DenseProjection {
  readonly rows: number;
  readonly cols: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array | null;
}

export interface DenseMlp {
  readonly gate: DenseProjection; // [intermediate, hidden]
  readonly up: DenseProjection; // [intermediate, hidden]
  readonly down: DenseProjection; // [hidden, intermediate]
}

export interface DenseAttention {
  readonly q: DenseProjection; // [heads * headDim, hidden]
  readonly k: DenseProjection; // [kvHeads * headDim, hidden]
  readonly v: DenseProjection; // [kvHeads * headDim, hidden]
  readonly o: DenseProjection; // [hidden, heads * headDim]
}

export interface AttentionShape {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
}

export interface DenseBlock {
  readonly attention: DenseAttention;
  readonly mlp: DenseMlp;
}

/** The widths of a pruned block (hidden size unchanged). */
export interface BlockShape extends AttentionShape {
  readonly intermediateSize: number;
}

export interface PrunedBlock {
  readonly block: DenseBlock;
  readonly shape: BlockShape;
  /** Kept MLP channels, ascending indices into the dense block's intermediate dimension. */
  readonly keptChannels: Int32Array;
  /** Kept KV heads, ascending. */
  readonly keptKvHeads: Int32Array;
  /** Kept query heads, ascending: every query head of each kept KV head. */
  readonly keptHeads: Int32Array;
}

// ---- coarse stage ----

/** Sum over the rows of input/output [tokens, hidden] of arccos(cos(in, out)) / pi (divide by tokens for d_l). */
export function angularDistanceSum(input: Float32Array, output: Float32Array, hidden: number): number {
  if (input.length !== output.length || input.length % hidden !== 0) throw new ArgumentError(`angularDistanceSum: ${input.length} and ${output.length} values are not the same [tokens, ${hidden}]`);
  let total = 0;
  for (let o = 0; o < input.length; o += hidden) {
    let dot = 0;
    let ni = 0;
    let no = 0;
    for (let j = 0; j < hidden; j++) {
      dot += input[o + j] * output[o + j];
      ni += input[o + j] * input[o + j];
      no += output[o + j] * output[o + j];
    }
    // Upstream: cosine NaN (a zero vector) -> 0.5 (block_metrics.py line 36).
    const cos = ni > 0 && no > 0 ? Math.max(-1, Math.min(1, dot / Math.sqrt(ni * no))) : 0.5;
    total += Math.acos(cos) / Math.PI;
  }
  return total;
}

export interface CoarseOptions {
  /** Upstream's --a, the sigmoid's slope (default 1). */
  readonly a?: number;
  /** Tokens the per-token mean is scaled to before upstream's / 1e4 (default 131072 = 128 x 1024). */
  readonly referenceTokens?: number;
}

/** Per-block sparsities from per-token mean angular distances; their mean is the target. */
export function cfspBlockSparsities(distances: readonly number[], target: number, options: CoarseOptions = {}): number[] {
  if (!Number.isFinite(target) || target < 0 || target >= 1) throw new ArgumentError(`target sparsity must be in [0, 1), got ${target}`);
  if (distances.length === 0) return [];
  const a = options.a ?? 1;
  const reference = options.referenceTokens ?? 131072;
  const mid = mean(distances);
  let s = distances.map((d) => 1 / (1 + Math.exp((-a * (d - mid) * reference) / 1e4)));
  let avg = mean(s);
  const max = Math.max(...s);
  if (max > avg && (max / avg) * (1 - target) >= 1) {
    const factor = (avg * (1 / (1 - target) - 1)) / (max - avg) / 1.05;
    s = s.map((v) => avg + (v - avg) * factor);
    avg = mean(s);
  }
  return s.map((v) => 1 - (v / avg) * (1 - target));
}

/**
 * Units kept per block at the given sparsities, out of `width` each: multiples of `multiple`
 * (when width allows one), at least `minimum`, the total as close to sum (1 - s_l) * width as
 * the multiple allows (largest remainder). A block at sparsity 0 keeps its whole width.
 */
export function cfspKeepCounts(sparsities: readonly number[], width: number, multiple = 8, minimum = 1): number[] {
  if (!Number.isInteger(width) || width < 1) throw new ArgumentError(`width must be a positive integer, got ${width}`);
  if (sparsities.some((s) => !(s >= 0 && s < 1))) throw new ArgumentError(`sparsities must be in [0, 1), got [${sparsities.join(', ')}]`);
  const m = width >= multiple ? multiple : 1;
  const maxUnits = Math.floor(width / m);
  const minUnits = Math.min(maxUnits, Math.max(1, Math.ceil(minimum / m)));
  // Blocks at sparsity 0 keep their width and take no part in the rounding.
  const want = sparsities.map((s) => (s === 0 ? 0 : ((1 - s) * width) / m));
  const units = want.map((u) => Math.min(maxUnits, Math.max(minUnits, Math.floor(u))));
  const rounded = sparsities.reduce((t, s, i) => (s === 0 ? t : t + units[i]), 0);
  let extra = Math.round(want.reduce((x, y) => x + y, 0)) - rounded;
  const order = want.map((_, i) => i).filter((i) => sparsities[i] !== 0);
  order.sort((i, j) => want[j] - Math.floor(want[j]) - (want[i] - Math.floor(want[i])) || i - j);
  for (const i of order) {
    if (extra <= 0) break;
    if (units[i] < maxUnits) {
      units[i]++;
      extra--;
    }
  }
  return units.map((u, i) => (sparsities[i] === 0 ? width : u * m));
}

// ---- fine stage ----

/** Each MLP channel's score (see the file comment). Stats: gateUp [hidden], down [intermediate]. */
export function mlpChannelScores(mlp: DenseMlp, stats: { readonly gateUp: LinearInputStats; readonly down: LinearInputStats }): Float64Array {
  const { gate, up, down } = mlp;
  const F = gate.rows;
  const H = gate.cols;
  checkProjection(gate, F, H, 'gate');
  checkProjection(up, F, H, 'up');
  checkProjection(down, H, F, 'down');
  const x = norms(stats.gateUp, H, 'gateUp');
  const a = norms(stats.down, F, 'down');
  const terms = [rowTerms(gate, x, 1), rowTerms(up, x, 1), colTerms(down, a, 1)];
  return combine(terms, F);
}

/** Each KV group's score (see the file comment). Stats: qkv [hidden], o [heads * headDim]. */
export function kvGroupScores(attention: DenseAttention, shape: AttentionShape, stats: { readonly qkv: LinearInputStats; readonly o: LinearInputStats }): Float64Array {
  const { q, k, v, o } = attention;
  const { numHeads, numKvHeads, headDim } = checkAttention(attention, shape);
  const x = norms(stats.qkv, q.cols, 'qkv');
  const z = norms(stats.o, numHeads * headDim, 'o');
  // Query heads of a group are consecutive (query head h reads KV head floor(h / (heads / kvHeads))),
  // so a group owns (heads / kvHeads) * headDim consecutive rows of q and columns of o.
  const qWidth = (numHeads / numKvHeads) * headDim;
  const terms = [rowTerms(q, x, qWidth), rowTerms(k, x, headDim), rowTerms(v, x, headDim), colTerms(o, z, qWidth)];
  return combine(terms, numKvHeads);
}

/** Ascending indices of the `keep` highest scores (ties to the lower index). */
export function topIndices(scores: ArrayLike<number>, keep: number): Int32Array {
  if (!Number.isInteger(keep) || keep < 0 || keep > scores.length) throw new ArgumentError(`cannot keep ${keep} of ${scores.length}`);
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  return Int32Array.from(order.slice(0, keep)).sort();
}

/** The MLP with only the given channels: rows of gate/up (and their biases), columns of down. */
export function sliceMlp(mlp: DenseMlp, kept: Int32Array): DenseMlp {
  return { gate: takeRows(mlp.gate, kept, 1), up: takeRows(mlp.up, kept, 1), down: takeCols(mlp.down, kept, 1) };
}

/** The attention with only the given KV heads and their query heads. */
export function sliceAttention(attention: DenseAttention, shape: AttentionShape, keptKvHeads: Int32Array): { attention: DenseAttention; shape: AttentionShape; keptHeads: Int32Array } {
  const { numHeads, numKvHeads, headDim } = checkAttention(attention, shape);
  const rep = numHeads / numKvHeads;
  const keptHeads = Int32Array.from({ length: keptKvHeads.length * rep }, (_, i) => keptKvHeads[Math.floor(i / rep)] * rep + (i % rep));
  return {
    attention: {
      q: takeRows(attention.q, keptHeads, headDim),
      k: takeRows(attention.k, keptKvHeads, headDim),
      v: takeRows(attention.v, keptKvHeads, headDim),
      o: takeCols(attention.o, keptHeads, headDim),
    },
    shape: { numHeads: keptHeads.length, numKvHeads: keptKvHeads.length, headDim },
    keptHeads,
  };
}

/** One block pruned to the keep counts by the fine-stage scores. */
export function cfspPruneBlock(
  block: DenseBlock,
  shape: AttentionShape,
  stats: Readonly<Record<LinearInputGroup, LinearInputStats>>,
  keep: { readonly mlpChannels: number; readonly kvGroups: number },
): PrunedBlock {
  if (!(keep.kvGroups >= 1)) throw new ArgumentError(`a block keeps at least one KV group, got ${keep.kvGroups}`);
  if (!(keep.mlpChannels >= 1)) throw new ArgumentError(`a block keeps at least one MLP channel, got ${keep.mlpChannels}`);
  const keptChannels = topIndices(mlpChannelScores(block.mlp, stats), keep.mlpChannels);
  const keptKvHeads = topIndices(kvGroupScores(block.attention, shape, stats), keep.kvGroups);
  const attention = sliceAttention(block.attention, shape, keptKvHeads);
  return {
    block: { attention: attention.attention, mlp: sliceMlp(block.mlp, keptChannels) },
    shape: { ...attention.shape, intermediateSize: keptChannels.length },
    keptChannels,
    keptKvHeads,
    keptHeads: attention.keptHeads,
  };
}

// ---- helpers ----

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function checkProjection(p: DenseProjection, rows: number, cols: number, what: string): void {
  if (p.rows !== rows || p.cols !== cols || p.weight.length !== rows * cols) {
    throw new ArgumentError(`${what}: expected [${rows}, ${cols}], got [${p.rows}, ${p.cols}] with ${p.weight.length} weights`);
  }
  if (p.bias && p.bias.length !== rows) throw new ArgumentError(`${what}: bias of ${p.bias.length} for ${rows} rows`);
}

function checkAttention(a: DenseAttention, shape: AttentionShape): AttentionShape {
  const { numHeads, numKvHeads, headDim } = shape;
  if (!(numKvHeads >= 1) || numHeads % numKvHeads !== 0) throw new ArgumentError(`${numHeads} query heads do not share ${numKvHeads} KV heads evenly`);
  const H = a.q.cols;
  checkProjection(a.q, numHeads * headDim, H, 'q');
  checkProjection(a.k, numKvHeads * headDim, H, 'k');
  checkProjection(a.v, numKvHeads * headDim, H, 'v');
  checkProjection(a.o, H, numHeads * headDim, 'o');
  return shape;
}

/** ||X_j||_2 = sqrt(sum over tokens of x_j^2), the Wanda norm. */
function norms(stats: LinearInputStats, width: number, group: string): Float64Array {
  if (stats.sumSquares.length !== width) throw new ArgumentError(`${group} statistics have ${stats.sumSquares.length} features, the weights ${width}`);
  return Float64Array.from(stats.sumSquares, Math.sqrt);
}

/** Per unit of `span` consecutive rows: sum of |W_rj| * x_j. */
function rowTerms(p: DenseProjection, x: Float64Array, span: number): Float64Array {
  const out = new Float64Array(p.rows / span);
  for (let r = 0; r < p.rows; r++) {
    let s = 0;
    for (let j = 0, o = r * p.cols; j < p.cols; j++) s += Math.abs(p.weight[o + j]) * x[j];
    out[Math.floor(r / span)] += s;
  }
  return out;
}

/** Per unit of `span` consecutive columns: sum of |W_rc| * x_c. */
function colTerms(p: DenseProjection, x: Float64Array, span: number): Float64Array {
  const out = new Float64Array(p.cols / span);
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0, o = r * p.cols; c < p.cols; c++) out[Math.floor(c / span)] += Math.abs(p.weight[o + c]) * x[c];
  }
  return out;
}

/** Sum of the terms, each divided by its total over units (a zero total contributes nothing). */
function combine(terms: readonly Float64Array[], units: number): Float64Array {
  const score = new Float64Array(units);
  for (const t of terms) {
    const total = t.reduce((a, b) => a + b, 0);
    if (total > 0) for (let u = 0; u < units; u++) score[u] += t[u] / total;
  }
  return score;
}

/** Rows of whole units of `span` rows (and the bias's). */
function takeRows(p: DenseProjection, units: Int32Array, span: number): DenseProjection {
  const rows = units.length * span;
  const weight = new Float32Array(rows * p.cols);
  const bias = p.bias ? new Float32Array(rows) : null;
  units.forEach((u, i) => {
    weight.set(p.weight.subarray(u * span * p.cols, (u + 1) * span * p.cols), i * span * p.cols);
    if (bias && p.bias) bias.set(p.bias.subarray(u * span, (u + 1) * span), i * span);
  });
  return { rows, cols: p.cols, weight, bias };
}

/** Columns of whole units of `span` columns (the bias, per output row, is unchanged). */
function takeCols(p: DenseProjection, units: Int32Array, span: number): DenseProjection {
  const cols = units.length * span;
  const weight = new Float32Array(p.rows * cols);
  for (let r = 0; r < p.rows; r++) {
    units.forEach((u, i) => weight.set(p.weight.subarray(r * p.cols + u * span, r * p.cols + (u + 1) * span), r * cols + i * span));
  }
  return { rows: p.rows, cols, weight, bias: p.bias ? p.bias.slice() : null };
}
