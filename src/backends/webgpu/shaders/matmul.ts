/**
 * Batched GEMM, C[b] = op(A[b]) op(B[b]), as a shared-memory tiled kernel (the classic CUDA
 * SGEMM tiling, as in tfjs-webgpu's matmul): a 16x16 workgroup computes a (16*TM) x (16*TN) tile
 * of C, staging 16-deep slices of A and B in workgroup memory so each global element is read once
 * per tile instead of once per output, and each thread keeps TM x TN accumulators in registers.
 * Bounds are checked on every load and store, so any M, N, K works, not only tile multiples.
 * A single row times a Linear-layout weight (M = 1, B^T) goes to a GEMV kernel instead.
 */
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../../../core/shape.js';
import { Params } from '../params.js';
import { ENTRY_ARGS, type KernelSpec, read, WORKGROUP_SIZE, write } from './common.js';
import { collapseDims, decodeOffsets } from './indexing.js';

const THREADS = 16; // per side of the workgroup
const TILE_K = 16;

export interface MatmulProblem {
  readonly a: GPUBuffer;
  readonly b: GPUBuffer;
  readonly c: GPUBuffer;
  readonly aShape: Shape;
  readonly bShape: Shape;
  readonly batchShape: Shape;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

export function matmulKernel(p: MatmulProblem): KernelSpec {
  return p.M === 1 && p.transposeB ? gemvKernel(p) : tiledKernel(p);
}

/** Per-batch element offsets of A, B and C, collapsed (see indexing.ts). */
function batchStrides(p: MatmulProblem): { shape: number[]; strides: number[][] } {
  // Broadcast batch dims step by 0, so one A serves many Bs.
  const aBatch = broadcastStrides(p.aShape.slice(0, -2), p.batchShape).map((s) => s * p.M * p.K);
  const bBatch = broadcastStrides(p.bShape.slice(0, -2), p.batchShape).map((s) => s * p.K * p.N);
  const cBatch = stridesOf(p.batchShape).map((s) => s * p.M * p.N);
  return collapseDims(p.batchShape, [aBatch, bBatch, cBatch]);
}

function batchDecode(rank: number): string {
  return decodeOffsets(rank, 'batch', 'batch_shape', [
    { variable: 'a_off', strides: 'sa' },
    { variable: 'b_off', strides: 'sb' },
    { variable: 'c_off', strides: 'sc' },
  ]);
}

/**
 * y = x W^T for one row x (M = 1; A^T of a [K, 1] matrix is the same memory), the Linear layer
 * of token-by-token decoding: memory-bound on W, so each workgroup reads one row of W with
 * consecutive threads on consecutive addresses and sums by a tree; N x batches workgroups keep
 * every multiprocessor busy, where a 16 x 64 GEMM tile would leave 15/16 of its threads idle.
 */
function gemvKernel(p: MatmulProblem): KernelSpec {
  const { shape, strides } = batchStrides(p);
  const groups = p.N * sizeOf(p.batchShape);
  // With K a multiple of 4 every row and batch starts on a 16-byte boundary: read vec4s, 4x fewer loads.
  const width = p.K > 0 && p.K % 4 === 0 ? 4 : 1;
  const type = width === 4 ? 'vec4<f32>' : 'f32';
  const product = width === 4 ? 'dot(A[a_off + k], B[row + k])' : 'A[a_off + k] * B[row + k]';
  return {
    key: `gemv:${width}`,
    params: new Params()
      .u32('N', p.N)
      .u32('K', p.K / width)
      .u32('groups', groups)
      .u32s('batch_shape', shape)
      .u32s('sa', strides[0].map((s) => s / width))
      .u32s('sb', strides[1].map((s) => s / width))
      .u32s('sc', strides[2]),
    bindings: [read('A', type, p.a), read('B', type, p.b), write('C', 'f32', p.c)],
    workgroups: groups,
    body: () => /* wgsl */ `
var<workgroup> partial: array<f32, ${WORKGROUP_SIZE}>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  let group = linear_group(wid, nwg);
  if (group >= p_groups()) { return; } // uniform: keeps the barriers legal
  let K = p_K(); // in ${type}s
  let batch = group / p_N();
  let n = group % p_N();
  var a_off = 0u;
  var b_off = 0u;
  var c_off = 0u;
  ${batchDecode(shape.length)}
  let row = b_off + n * K;
  var acc = 0.0;
  for (var k = li; k < K; k += ${WORKGROUP_SIZE}u) { acc += ${product}; }
  partial[li] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP_SIZE / 2}u; s > 0u; s = s >> 1u) {
    if (li < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { C[c_off + n] = partial[0]; }
}`,
  };
}

/** The general case: shared-memory tiles. */
function tiledKernel(p: MatmulProblem): KernelSpec {
  // Register blocking only pays when the matrix fills it: thin products (GEMV-like M or N) get
  // one output per thread along that side, so no threads idle on a 64-wide tile of a 1-wide matrix.
  const tm = p.M <= THREADS ? 1 : 4;
  const tn = p.N <= THREADS ? 1 : 4;
  const tileM = THREADS * tm;
  const tileN = THREADS * tn;
  const tilesM = Math.ceil(p.M / tileM);
  const tilesN = Math.ceil(p.N / tileN);
  const batches = sizeOf(p.batchShape);
  const { shape, strides } = batchStrides(p);
  const params = new Params()
    .u32('M', p.M)
    .u32('N', p.N)
    .u32('K', p.K)
    .u32('tiles_n', tilesN)
    .u32('tiles', tilesM * tilesN)
    .u32('groups', tilesM * tilesN * batches)
    .u32s('batch_shape', shape)
    .u32s('sa', strides[0])
    .u32s('sb', strides[1])
    .u32s('sc', strides[2]);
  const variant = `${tm}x${tn}:${p.transposeA ? 'T' : 'N'}${p.transposeB ? 'T' : 'N'}`;
  return {
    key: `matmul:${variant}`,
    params,
    bindings: [read('A', 'f32', p.a), read('B', 'f32', p.b), write('C', 'f32', p.c)],
    workgroups: tilesM * tilesN * batches,
    body: () => matmulShader(tm, tn, p.transposeA, p.transposeB, shape.length),
  };
}

function matmulShader(tm: number, tn: number, transposeA: boolean, transposeB: boolean, batchRank: number): string {
  const tileM = THREADS * tm;
  const tileN = THREADS * tn;
  const decode = batchDecode(batchRank);
  // Element (m, k) of op(A) and (k, n) of op(B) in their stored layouts.
  const aIndex = transposeA ? 'a_off + k * M + m' : 'a_off + m * K + k';
  const bIndex = transposeB ? 'b_off + n * K + k' : 'b_off + k * N + n';
  // Neighbouring threads load neighbouring addresses of the stored layout (coalesced reads).
  const aWalk = transposeA ? 'let mi = e % TILE_M; let ki = e / TILE_M;' : 'let ki = e % TILE_K; let mi = e / TILE_K;';
  const bWalk = transposeB ? 'let ki = e % TILE_K; let ni = e / TILE_K;' : 'let ni = e % TILE_N; let ki = e / TILE_N;';
  return /* wgsl */ `
const TM = ${tm}u;
const TN = ${tn}u;
const TILE_M = ${tileM}u;
const TILE_N = ${tileN}u;
const TILE_K = ${TILE_K}u;

// Stored k-major so the inner loop reads a row of each tile.
var<workgroup> As: array<f32, ${tileM * TILE_K}>;
var<workgroup> Bs: array<f32, ${TILE_K * tileN}>;

@compute @workgroup_size(${THREADS}, ${THREADS})
fn main(${ENTRY_ARGS}, @builtin(local_invocation_id) lid: vec3<u32>) {
  // The workgroup index is uniform, so this early exit keeps the barriers below in uniform control flow.
  let group = linear_group(wid, nwg);
  if (group >= p_groups()) { return; }
  let M = p_M();
  let N = p_N();
  let K = p_K();
  let batch = group / p_tiles();
  let tile = group % p_tiles();
  let row0 = (tile / p_tiles_n()) * TILE_M;
  let col0 = (tile % p_tiles_n()) * TILE_N;
  var a_off = 0u;
  var b_off = 0u;
  var c_off = 0u;
  ${decode}

  var acc: array<f32, ${tm * tn}>;
  for (var k0 = 0u; k0 < K; k0 += TILE_K) {
    for (var e = li; e < TILE_M * TILE_K; e += ${THREADS * THREADS}u) {
      ${aWalk}
      let m = row0 + mi;
      let k = k0 + ki;
      var v = 0.0;
      if (m < M && k < K) { v = A[${aIndex}]; }
      As[ki * TILE_M + mi] = v;
    }
    for (var e = li; e < TILE_K * TILE_N; e += ${THREADS * THREADS}u) {
      ${bWalk}
      let n = col0 + ni;
      let k = k0 + ki;
      var v = 0.0;
      if (n < N && k < K) { v = B[${bIndex}]; }
      Bs[ki * TILE_N + ni] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      var a: array<f32, ${tm}>;
      var b: array<f32, ${tn}>;
      for (var i = 0u; i < TM; i++) { a[i] = As[kk * TILE_M + lid.y + i * ${THREADS}u]; }
      for (var j = 0u; j < TN; j++) { b[j] = Bs[kk * TILE_N + lid.x + j * ${THREADS}u]; }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i * TN + j] += a[i] * b[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < TM; i++) {
    let m = row0 + lid.y + i * ${THREADS}u;
    for (var j = 0u; j < TN; j++) {
      let n = col0 + lid.x + j * ${THREADS}u;
      if (m < M && n < N) { C[c_off + m * N + n] = acc[i * TN + j]; }
    }
  }
}`;
}
