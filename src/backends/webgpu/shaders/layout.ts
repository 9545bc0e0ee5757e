/**
 * Data movement: transpose, slice, concat and gather. Each output element's source is an index
 * computation, so the kernels copy raw bits and work for every dtype, packed ones included
 * (through wordMain, one output word per invocation).
 */
import type { DType } from '../../../core/dtype.js';
import { type Shape, sizeOf } from '../../../core/shape.js';
import { Params } from '../params.js';
import { ELEMENTS_PER_WORD, groupsFor, type KernelSpec, loadBits, read, wordMain, wordsFor, write } from './common.js';
import { collapseDims, decodeOffsets } from './indexing.js';

/**
 * out[o] = x[base + sum_d coord_d(o) * srcStrides[d]] over `outShape`: a transpose (strides
 * permuted) or a slice (base = the begin corner) in one kernel.
 */
export function stridedCopyKernel(dtype: DType, x: GPUBuffer, y: GPUBuffer, outShape: Shape, srcStrides: readonly number[], base: number): KernelSpec {
  const n = sizeOf(outShape);
  const words = wordsFor(dtype, n);
  const { shape, strides } = collapseDims(outShape, [srcStrides]);
  const decode = decodeOffsets(shape.length, 'o', 'shape', [{ variable: 's', strides: 'ss' }]);
  return {
    key: `copy:${dtype}`,
    params: new Params().u32('n', n).u32('words', words).u32('base', base).u32s('shape', shape).u32s('ss', strides[0]),
    bindings: [read('X', 'u32', x), write('OUT', 'u32', y)],
    workgroups: groupsFor(words),
    body: () =>
      [
        loadBits('src', 'X', dtype),
        `fn element(o: u32) -> u32 {\n  var s = p_base();\n  ${decode}\n  return src(s);\n}`,
        wordMain(dtype, 'element'),
      ].join('\n'),
  };
}

/**
 * One input's part of a concat: viewing the output as [outer, row] and the input as
 * [outer, chunk], the input fills columns [offset, offset + chunk) of every row. One dispatch per
 * input, over the words from its first element to its last (exactly its own for axis-0 concats,
 * as when a KV cache grows); the others' elements in shared words are kept (wordMain's `owned`).
 */
export function concatPartKernel(dtype: DType, x: GPUBuffer, y: GPUBuffer, n: number, row: number, offset: number, chunk: number): KernelSpec {
  const perWord = ELEMENTS_PER_WORD[dtype];
  const first = Math.floor(offset / perWord);
  const last = Math.floor((n - row + offset + chunk - 1) / perWord);
  const words = last - first + 1;
  return {
    key: `concat:${dtype}`,
    params: new Params().u32('n', n).u32('words', words).u32('first', first).u32('row', row).u32('offset', offset).u32('chunk', chunk),
    bindings: [read('X', 'u32', x), write('OUT', 'u32', y)],
    workgroups: groupsFor(words),
    body: () =>
      [
        loadBits('src', 'X', dtype),
        'fn owned(o: u32) -> bool { let c = o % p_row(); return c >= p_offset() && c < p_offset() + p_chunk(); }',
        'fn element(o: u32) -> u32 { return src((o / p_row()) * p_chunk() + o % p_row() - p_offset()); }',
        wordMain(dtype, 'element', 'owned'),
      ].join('\n'),
  };
}

/** WGSL `fn index_at(i: u32) -> i32` over the index buffer IDX of `dtype`. */
function indexReader(dtype: DType): string {
  const value = dtype === 'i32' ? 'bitcast<i32>(raw)' : 'i32(raw)';
  return `${loadBits('index_bits', 'IDX', dtype)}\nfn index_at(i: u32) -> i32 { let raw = index_bits(i); return ${value}; }`;
}

export interface GatherProblem {
  readonly tableDtype: DType;
  readonly table: GPUBuffer;
  readonly indexDtype: DType;
  readonly indices: GPUBuffer;
  readonly out: GPUBuffer;
  /** Two atomic u32: the first bad position (initially 0xffffffff), then its index's bits. */
  readonly check: GPUBuffer;
  readonly V: number;
  readonly D: number;
  readonly count: number;
}

/**
 * out[i, :] = table[indices[i], :]. An out-of-range index cannot throw on the GPU: its row is
 * zero-filled and the lowest such position is recorded in `check`, which the backend reads with
 * the next read() or sync() and turns into the ArgumentError the CPU backend would throw.
 */
export function gatherKernel(g: GatherProblem): KernelSpec {
  const n = g.count * g.D;
  const words = wordsFor(g.tableDtype, n);
  return {
    key: `gather:${g.tableDtype}:${g.indexDtype}`,
    params: new Params().u32('n', n).u32('words', words).u32('V', g.V).u32('D', g.D),
    bindings: [read('TABLE', 'u32', g.table), read('IDX', 'u32', g.indices), write('OUT', 'u32', g.out), write('CHECK', 'atomic<u32>', g.check)],
    workgroups: groupsFor(words),
    body: () =>
      [
        loadBits('table_bits', 'TABLE', g.tableDtype),
        indexReader(g.indexDtype),
        /* wgsl */ `
fn element(o: u32) -> u32 {
  let i = o / p_D();
  let id = index_at(i);
  if (id < 0 || u32(id) >= p_V()) {
    atomicMin(&CHECK[0], i);
    return 0u;
  }
  return table_bits(u32(id) * p_D() + o % p_D());
}`,
        wordMain(g.tableDtype, 'element'),
      ].join('\n'),
  };
}

/** After a gather: copies the offending index value next to its position, for the error message. */
export function gatherReportKernel(indexDtype: DType, indices: GPUBuffer, check: GPUBuffer): KernelSpec {
  return {
    key: `gather-report:${indexDtype}`,
    params: new Params(),
    bindings: [read('IDX', 'u32', indices), write('CHECK', 'atomic<u32>', check)],
    workgroups: 1,
    body: () => /* wgsl */ `
${indexReader(indexDtype)}
@compute @workgroup_size(1)
fn main() {
  let pos = atomicLoad(&CHECK[0]);
  if (pos != 0xffffffffu) { atomicStore(&CHECK[1], bitcast<u32>(index_at(pos))); }
}`,
  };
}
