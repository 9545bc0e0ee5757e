/**
 * Products that share one activation row, y_i = x W_i^T for two or three weights of one format
 * (decode's q/k/v and gate/up), run as one thread-pool job over the weights' rows laid end to
 * end (wasm/linear-group.ts). Cases without a grouped kernel return null and the caller runs the
 * products one by one: several activation rows, mixed formats, BSR, N:M other than 2:4, CSR
 * with i32 indices, bitmaps wider than the staging area.
 */
import type { BitmapParts, CsrParts, GroupedWeight, NmParts } from '../../core/backend.js';
import { sizeOf } from '../../core/shape.js';
import type { Tensor } from '../../core/tensor.js';
import type { CpuBackend } from './cpu-backend.js';
import { X_STAGING_FLOATS } from './kernels.js';
import type { SparseKernels } from './sparse-kernels.js';
import { firstAtLeast } from './thread-pool.js';

/** Below this many multiply-adds the job runs on the calling thread alone. */
const PARALLEL_MIN_MACS = 1 << 15;
/** The grouped kernels take up to three weights. */
const MAX_GROUP = 3;

interface Member {
  /** A tensor of the weight, by which a group's partition bounds are remembered. */
  readonly key: Tensor;
  readonly rows: number;
  /** Multiply-adds of the whole weight. */
  readonly cost: number;
  /** The first row r whose rows [0, r) cost at least `c` (CSR: by its row pointers; else even). */
  rowAtCost(c: number): number;
  /** The member's kernel arguments (its slot), given its output's byte offset. */
  slot(y: number): number[];
}

/** A group's partition bounds, remembered for the same weights in the same order. */
interface GroupSplit {
  readonly keys: readonly Tensor[];
  readonly bounds: readonly number[];
}

export class LinearGroupKernels {
  /**
   * Partition bounds by the first member's key. Weights do not change, and a decode step runs
   * the same groups every token; computing the bounds reads CSR row pointers, which the previous
   * product has pushed out of the caches.
   */
  private readonly splits = new WeakMap<Tensor, GroupSplit>();

  constructor(
    private readonly cpu: CpuBackend,
    private readonly sparse: SparseKernels,
  ) {}

  run(x: Tensor, weights: readonly GroupedWeight[]): Tensor[] | null {
    const K = x.shape[x.rank - 1];
    if (weights.length < 2 || weights.length > MAX_GROUP || sizeOf(x.shape) !== K || K === 0) return null;
    const format = weights[0].format;
    if (weights.some((w) => w.format !== format)) return null;
    if (format === 'csr') return this.csr(x, K, weights.map((w) => w.weight as CsrParts));
    if (format === 'bitmap') return this.bitmap(x, K, weights.map((w) => w.weight as BitmapParts));
    if (format === 'nm') return this.nm(x, K, weights.map((w) => w.weight as NmParts));
    if (format === 'dense') return this.dense(x, K, weights.map((w) => w.weight as Tensor));
    return null;
  }

  private csr(x: Tensor, K: number, ws: CsrParts[]): Tensor[] | null {
    if (K > X_STAGING_FLOATS || ws.some((w) => w.colIndices.dtype !== 'u16')) return null;
    const members = ws.map((w): Member => ({
      key: w.rowPtr,
      rows: w.rows,
      cost: this.sparse.rowSplit(w.rowPtr, w.rows).entries,
      rowAtCost: (c) => firstAtLeast(this.cpu.view(w.rowPtr) as Int32Array, c, 0, w.rows),
      slot: (y) => [...[w.rowPtr, w.colIndices, w.values].map((t) => this.cpu.offsetOf(t)), y, w.rows],
    }));
    this.sparse.stageX(x, K);
    return this.launch(x, members, 'csr_spmv_staged_group', [], 5);
  }

  private bitmap(x: Tensor, K: number, ws: BitmapParts[]): Tensor[] | null {
    const maskBytes = Math.ceil(K / 8);
    if (maskBytes * 8 > X_STAGING_FLOATS) return null;
    // The kernel walks every mask byte of a row, whatever its count of kept values: cost by rows.
    const members = ws.map((w): Member => ({
      key: w.mask,
      rows: w.rows,
      cost: w.rows * K,
      rowAtCost: (c) => evenRowAtCost(c, K, w.rows),
      slot: (y) => [...[w.rowPtr, w.mask, w.values].map((t) => this.cpu.offsetOf(t)), y, w.rows],
    }));
    this.sparse.stageXPadded(x, K, maskBytes);
    return this.launch(x, members, 'bitmap_spmv_group', [maskBytes], 5);
  }

  private nm(x: Tensor, K: number, ws: NmParts[]): Tensor[] | null {
    if (ws.some((w) => w.n !== 2 || w.m !== 4)) return null;
    const members = ws.map((w): Member => ({
      key: w.values,
      rows: w.rows,
      cost: (w.rows * K) / 2,
      rowAtCost: (c) => evenRowAtCost(c, K / 2, w.rows),
      slot: (y) => [this.cpu.offsetOf(w.values), this.cpu.offsetOf(w.indices), y, w.rows],
    }));
    const table = this.sparse.quadTable24(x, K);
    try {
      return this.launch(x, members, 'nm24_spmv_group', [table, this.cpu.offsetOf(x), K], 4);
    } finally {
      this.cpu.heap.free(table);
    }
  }

  private dense(x: Tensor, K: number, ws: Tensor[]): Tensor[] | null {
    if (ws.some((w) => w.rank !== 2 || w.dtype !== 'f32' || w.shape[1] !== K)) return null;
    const members = ws.map((w): Member => ({
      key: w,
      rows: w.shape[0],
      cost: w.shape[0] * K,
      rowAtCost: (c) => evenRowAtCost(c, K, w.shape[0]),
      slot: (y) => [this.cpu.offsetOf(w), y, w.shape[0]],
    }));
    return this.launch(x, members, 'gemv_t_f32_group', [this.cpu.offsetOf(x), K], 3);
  }

  /**
   * Allocates the outputs [1, rows_i] and runs the kernel once over the members' rows laid end to
   * end (partitions: boundsOf); unused slots get zeros (zero rows).
   */
  private launch(x: Tensor, members: Member[], kernel: 'csr_spmv_staged_group' | 'bitmap_spmv_group' | 'nm24_spmv_group' | 'gemv_t_f32_group', head: number[], slotSize: number): Tensor[] {
    const outputs = members.map((m) => this.cpu.empty([1, m.rows], 'f32'));
    const slots = members.flatMap((m, i) => m.slot(this.cpu.offsetOf(outputs[i])));
    while (slots.length < MAX_GROUP * slotSize) slots.push(0);
    this.cpu.pool.run(kernel, [...head, ...slots], this.boundsOf(members));
    return outputs;
  }

  /**
   * Bounds over the members' rows laid end to end: threads x 4 partitions of equal cost (edges
   * inside a member fall on multiples of four rows, the kernels' row groups), or one partition
   * when the group is too small to share; remembered per group of weights.
   */
  private boundsOf(members: Member[]): readonly number[] {
    const known = this.splits.get(members[0].key);
    if (known && known.keys.length === members.length && known.keys.every((k, i) => k === members[i].key)) return known.bounds;
    const total = members.reduce((s, m) => s + m.cost, 0);
    const threads = this.cpu.pool.threads;
    const parts = threads === 1 || total < PARALLEL_MIN_MACS ? 1 : threads * 4;
    const bounds = [0];
    let member = 0;
    let before = 0; // cost of the members ahead of `member`
    let start = 0; // its first virtual row
    for (let i = 1; i < parts; i++) {
      const target = (total * i) / parts;
      while (member < members.length - 1 && before + members[member].cost <= target) {
        before += members[member].cost;
        start += members[member].rows;
        member++;
      }
      const m = members[member];
      const row = Math.min(m.rows, Math.round(m.rowAtCost(target - before) / 4) * 4);
      if (start + row > bounds[bounds.length - 1]) bounds.push(start + row);
    }
    const rows = members.reduce((s, m) => s + m.rows, 0);
    if (rows > bounds[bounds.length - 1] || bounds.length === 1) bounds.push(rows);
    this.splits.set(members[0].key, { keys: members.map((m) => m.key), bounds });
    return bounds;
  }
}

/** Rows of a weight whose rows cost `perRow` each, covering cost c (rounded up). */
function evenRowAtCost(c: number, perRow: number, rows: number): number {
  return Math.min(rows, Math.ceil(c / Math.max(1, perRow)));
}
