/**
 * A keep/drop mask over a shape, one bit per element: what pruning criteria compute on the
 * host before a format (CSR, BSR, N:M) stores the kept weights. Element i (row-major flat
 * index) is bit i & 31 of word i >>> 5; the bits past `size` in the last word are always zero,
 * so word-wise algebra and popcounts need no tail fix-ups.
 */
import { ArgumentError, ShapeError } from '../core/errors.js';
import { assertValidShape, formatShape, type Shape, shapesEqual, sizeOf } from '../core/shape.js';

export class Mask {
  readonly shape: Shape;
  readonly size: number;
  /** ceil(size / 32) words; owned by the mask (set() writes here). */
  readonly words: Uint32Array;

  /** Wraps `words` without copying (all clear when omitted); they must hold ceil(size / 32) words with the tail bits clear. */
  constructor(shape: Shape, words?: Uint32Array) {
    assertValidShape(shape, 'mask shape');
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    const wordCount = Math.ceil(this.size / 32);
    if (words && words.length !== wordCount) {
      throw new ShapeError(`Mask: ${words.length} words given for shape ${formatShape(shape)}, which needs ${wordCount}`);
    }
    this.words = words ?? new Uint32Array(wordCount);
    if (words && wordCount > 0 && (words[wordCount - 1] & ~tailBits(this.size)) !== 0) {
      throw new ArgumentError(`Mask: bits past element ${this.size - 1} are set in the last word`);
    }
  }

  static zeros(shape: Shape): Mask {
    return new Mask(shape);
  }

  static ones(shape: Shape): Mask {
    const mask = new Mask(shape);
    mask.words.fill(0xffffffff);
    mask.clearTail();
    return mask;
  }

  /** Set where `values` is nonzero (NaN counts as nonzero, -0 as zero). */
  static fromDense(values: ArrayLike<number>, shape: Shape): Mask {
    return Mask.fromBooleans(values, shape, 'Mask.fromDense');
  }

  /** Set where `values` is truthy (true or a nonzero number). */
  static fromBooleans(values: ArrayLike<boolean | number>, shape: Shape, where = 'Mask.fromBooleans'): Mask {
    const mask = new Mask(shape);
    if (values.length !== mask.size) {
      throw new ShapeError(`${where}: ${values.length} values do not fill shape ${formatShape(shape)} (${mask.size} elements)`);
    }
    const words = mask.words;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== 0 && v !== false) words[i >>> 5] |= 1 << (i & 31);
    }
    return mask;
  }

  /** Set where `keep(flatIndex)` is true (for a matrix, row = floor(i / cols), col = i % cols). */
  static fromPredicate(shape: Shape, keep: (index: number) => boolean): Mask {
    const mask = new Mask(shape);
    for (let i = 0; i < mask.size; i++) if (keep(i)) mask.words[i >>> 5] |= 1 << (i & 31);
    return mask;
  }

  get(index: number): boolean {
    this.checkIndex(index);
    return ((this.words[index >>> 5] >>> (index & 31)) & 1) === 1;
  }

  /** Sets (or clears) one element in place; returns the mask. */
  set(index: number, value = true): this {
    this.checkIndex(index);
    if (value) this.words[index >>> 5] |= 1 << (index & 31);
    else this.words[index >>> 5] &= ~(1 << (index & 31));
    return this;
  }

  /** Set elements (popcount over the words). */
  count(): number {
    let total = 0;
    for (let i = 0; i < this.words.length; i++) total += popcount32(this.words[i]);
    return total;
  }

  /** Fraction of elements kept; 0 for an empty shape. */
  density(): number {
    return this.size === 0 ? 0 : this.count() / this.size;
  }

  /** Fraction of elements dropped: 1 - density(). */
  sparsity(): number {
    return 1 - this.density();
  }

  and(other: Mask): Mask {
    return this.combine(other, 'and', (a, b) => a & b);
  }

  or(other: Mask): Mask {
    return this.combine(other, 'or', (a, b) => a | b);
  }

  xor(other: Mask): Mask {
    return this.combine(other, 'xor', (a, b) => a ^ b);
  }

  not(): Mask {
    const out = new Mask(this.shape);
    for (let i = 0; i < this.words.length; i++) out.words[i] = ~this.words[i];
    out.clearTail();
    return out;
  }

  /** Same shape and the same set elements. */
  equals(other: Mask): boolean {
    if (!shapesEqual(this.shape, other.shape)) return false;
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== other.words[i]) return false;
    return true;
  }

  /** A copy of `values` with the unset elements zeroed. */
  apply(values: Float32Array): Float32Array {
    if (values.length !== this.size) {
      throw new ShapeError(`Mask.apply: ${values.length} values for a mask of shape ${formatShape(this.shape)} (${this.size} elements)`);
    }
    const out = new Float32Array(this.size);
    for (let i = 0; i < this.size; i++) if ((this.words[i >>> 5] >>> (i & 31)) & 1) out[i] = values[i];
    return out;
  }

  /** Bytes the bitset takes: 4 per 32 elements. */
  bytes(): number {
    return this.words.byteLength;
  }

  /** One byte per element, 1 where set (the layout of a bool tensor). */
  toUint8Array(): Uint8Array {
    const out = new Uint8Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = (this.words[i >>> 5] >>> (i & 31)) & 1;
    return out;
  }

  clone(): Mask {
    return new Mask(this.shape, this.words.slice());
  }

  toString(): string {
    return `Mask(${formatShape(this.shape)}, ${this.count()} of ${this.size} set)`;
  }

  private combine(other: Mask, op: string, f: (a: number, b: number) => number): Mask {
    if (!shapesEqual(this.shape, other.shape)) {
      throw new ShapeError(`Mask.${op}: shapes differ (${formatShape(this.shape)} vs ${formatShape(other.shape)})`);
    }
    const out = new Mask(this.shape);
    for (let i = 0; i < this.words.length; i++) out.words[i] = f(this.words[i], other.words[i]);
    return out;
  }

  private clearTail(): void {
    if (this.words.length > 0) this.words[this.words.length - 1] &= tailBits(this.size);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new ArgumentError(`Mask: index ${index} is outside the ${this.size} elements of shape ${formatShape(this.shape)}`);
    }
  }
}

/** Whether element `index` is set, without the bounds check of Mask.get (for hot loops over known-good indices). */
export function maskBit(mask: Mask, index: number): boolean {
  return ((mask.words[index >>> 5] >>> (index & 31)) & 1) === 1;
}

/** The bits of the last word that belong to elements (all 32 when size is a multiple of 32). */
function tailBits(size: number): number {
  const used = size & 31;
  return used === 0 ? 0xffffffff : (1 << used) - 1;
}

/** Set bits of a 32-bit word (the SWAR count of Hacker's Delight, 5-2). */
export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}
