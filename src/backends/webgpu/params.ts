/**
 * Kernel parameters: scalars and small arrays (shapes, strides) packed into one u32 storage
 * buffer per dispatch, bound at binding 0 as `P`. The same object writes the values and the WGSL
 * accessors (`p_n()`, `p_shape(d)` ...), so a shader and its data cannot disagree on offsets.
 * Array lengths are part of `layout`, which goes into the pipeline key: shaders are specialised
 * by rank, and their index loops have constant trip counts.
 */
import { SparsekitError } from '../../core/errors.js';

const f32Bits = new Float32Array(1);
const f32BitsAsU32 = new Uint32Array(f32Bits.buffer);

export class Params {
  private readonly words: number[] = [];
  private readonly accessors: string[] = [];
  private readonly parts: string[] = [];

  /** A u32 scalar, read in WGSL as `p_<name>()`. */
  u32(name: string, value: number): this {
    this.accessors.push(`fn p_${name}() -> u32 { return P[${this.words.length}u]; }`);
    this.parts.push(name);
    this.push(name, value);
    return this;
  }

  /** An f32 scalar (rounded to f32), read as `p_<name>()`. */
  f32(name: string, value: number): this {
    f32Bits[0] = value;
    this.accessors.push(`fn p_${name}() -> f32 { return bitcast<f32>(P[${this.words.length}u]); }`);
    this.parts.push(`${name}:f`);
    this.words.push(f32BitsAsU32[0]);
    return this;
  }

  /** A u32 array, read as `p_<name>(i)`; its length is fixed per pipeline. */
  u32s(name: string, values: readonly number[]): this {
    this.accessors.push(`fn p_${name}(i: u32) -> u32 { return P[${this.words.length}u + i]; }`);
    this.parts.push(`${name}[${values.length}]`);
    for (const v of values) this.push(name, v);
    return this;
  }

  /** What the WGSL depends on: names, kinds and array lengths, not values. */
  get layout(): string {
    return this.parts.join(',');
  }

  /** The binding and accessor declarations. */
  wgsl(): string {
    return ['@group(0) @binding(0) var<storage, read> P: array<u32>;', ...this.accessors].join('\n');
  }

  /** The values; at least one word, as a binding cannot be empty. */
  data(): Uint32Array<ArrayBuffer> {
    return Uint32Array.from(this.words.length ? this.words : [0]);
  }

  private push(name: string, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new SparsekitError('E_WEBGPU', `webgpu: kernel parameter ${name}=${value} does not fit in a u32 (tensor too large for this backend)`);
    }
    this.words.push(value);
  }
}
