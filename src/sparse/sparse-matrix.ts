/**
 * What every sparse weight format shares: its parts are engine tensors (on the CPU backend they
 * sit in the WebAssembly heap where the kernels read them in place), read back as host arrays
 * (`A`), densified, measured (density, bytes) and disposed together.
 */
import type { Backend } from '../core/backend.js';
import type { TypedArray } from '../core/dtype.js';
import { tensor } from '../core/ops.js';
import type { Tensor, TensorContainer } from '../core/tensor.js';
import { ratio, tensorBytes } from './common.js';

export abstract class SparseMatrix<A> implements TensorContainer {
  readonly rows: number;
  readonly cols: number;
  /** Stored values that are nonzero: the matrix's nonzeros (explicit zeros and padding do not count). */
  readonly nonzeroCount: number;

  protected constructor(rows: number, cols: number, nonzeroCount: number) {
    this.rows = rows;
    this.cols = cols;
    this.nonzeroCount = nonzeroCount;
  }

  /** The tensors holding the parts, in the order arraysFrom() takes them (tidy() keeps them alive through this). */
  abstract tensors(): Tensor[];

  /** The parts as host arrays, given the parts' values in tensors() order. */
  protected abstract arraysFrom(parts: TypedArray[]): A;

  /** The dense row-major [rows, cols] matrix from host arrays. */
  protected abstract arraysToDense(arrays: A): Float32Array;

  get backend(): Backend {
    return this.tensors()[0].backend;
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** Copies of the parts, read back from the backend. */
  async readArrays(): Promise<A> {
    return this.arraysFrom(await Promise.all(this.tensors().map((t) => t.read())));
  }

  /** readArrays() on backends that read synchronously (CPU); throws elsewhere. */
  readArraysSync(): A {
    return this.arraysFrom(this.tensors().map((t) => t.readSync()));
  }

  /** The dense row-major [rows, cols] matrix. */
  async toDense(): Promise<Float32Array> {
    return this.arraysToDense(await this.readArrays());
  }

  /** toDense() on backends that read synchronously (CPU). */
  toDenseSync(): Float32Array {
    return this.arraysToDense(this.readArraysSync());
  }

  /** The dense matrix as an f32 [rows, cols] tensor on the same backend. */
  async toTensor(): Promise<Tensor> {
    return tensor(await this.toDense(), [this.rows, this.cols], 'f32', this.backend);
  }

  /** Fraction of the rows x cols elements that are nonzero. */
  density(): number {
    return ratio(this.nonzeroCount, this.rows * this.cols);
  }

  sparsity(): number {
    return 1 - this.density();
  }

  /** Bytes of all stored parts. */
  bytes(): number {
    return this.tensors().reduce((sum, t) => sum + tensorBytes(t), 0);
  }

  /** Bytes the same matrix takes dense in f32. */
  denseBytes(): number {
    return 4 * this.rows * this.cols;
  }

  get disposed(): boolean {
    return this.tensors()[0].disposed;
  }

  dispose(): void {
    for (const t of this.tensors()) t.dispose();
  }
}
