/**
 * Batched GEMM, C[b] = op(A[b]) op(B[b]), as a shared-memory tiled kernel (the classic CUDA
 * SGEMM tiling, as in tfjs-webgpu's matmul): a 16x16 workgroup computes a (16*TM) x (16*TN) tile
 * of C, staging 16-deep slices of A and B in workgroup memory so each global element is read once
 * per tile instead of once per output, and each thread keeps TM x TN accumulators in registers.
 * Bounds are checked on every load and store, so any M, N, K works, not only tile multiples.
 */
import { broadcastStrides, type Shape, sizeOf, stridesOf } from '../../../core/shape.js';
import { Params } from '../params.js';
import { ENTRY_ARGS, type KernelSpec, read, write } from './common.js';
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
  // Register blocking only pays when the matrix fills it: thin products (GEMV-like M or N) get
  // one output per thread along that side, so no threads idle on a 64-wide tile of a 1-wide matrix.
  const tm = p.M <= THREADS ? 1 : 4;
  const tn = p.N <= THREADS ? 1 : 4;
  const tileM = THREADS * tm;
  const tileN = THREADS * tn;
  const tilesM = Math.ceil(p.M / tileM);
  const tilesN = Math.ceil(p.N / tileN);
  const batches = sizeOf(p.batchShape);
  // Per-batch element strides: broadcast batch dims step by 0, so one A serves many Bs.
  const aBatch = broadcastStrides(p.aShape.slice(0, -2), p.batchShape).map((s) => s * p.M * p.K);
  const bBatch = broadcastStrides(p.bShape.slice(0, -2), p.batchShape).map((s) => s * p.K * p.N);
  const cBatch = stridesOf(p.batchShape).map((s) => s * p.M * p.N);
  const { shape, strides } = collapseDims(p.batchShape, [aBatch, bBatch, cBatch]);
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
  const decode = decodeOffsets(batchRank, 'batch', 'batch_shape', [
    { variable: 'a_off', strides: 'sa' },
    { variable: 'b_off', strides: 'sb' },
    { variable: 'c_off', strides: 'sc' },
  ]);
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
