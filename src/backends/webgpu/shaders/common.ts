/**
 * What every kernel shares: the KernelSpec a shader module hands to the dispatcher, the
 * 2-D dispatch convention, byte-exact access to packed small dtypes, and WGSL helpers.
 */
import type { DType } from '../../../core/dtype.js';
import type { Params } from '../params.js';

/** Invocations per workgroup for 1-D kernels (the WebGPU default maxComputeInvocationsPerWorkgroup). */
export const WORKGROUP_SIZE = 256;

/** One storage binding: its WGSL name and element type, and the buffer bound to it. */
export interface Binding {
  readonly name: string;
  /** WGSL element type of the `array<...>` (f32, i32, u32, atomic<u32>). */
  readonly type: string;
  readonly access: 'read' | 'read_write';
  readonly buffer: GPUBuffer;
}

/** One dispatch: a shader variant, its parameters, its buffers and how many workgroups. */
export interface KernelSpec {
  /** Identifies the WGSL beyond the parameter layout and bindings (op, dtypes, variant). */
  readonly key: string;
  readonly params: Params;
  /** Bound in order from binding 1 (binding 0 is the params buffer). */
  readonly bindings: readonly Binding[];
  /** Total workgroups, spread over a 2-D grid by the dispatcher when over the per-dimension limit. */
  readonly workgroups: number;
  /** The shader's functions and entry point `main`; declarations are prepended. Called on a pipeline-cache miss only. */
  readonly body: () => string;
}

export const read = (name: string, type: string, buffer: GPUBuffer): Binding => ({ name, type, access: 'read', buffer });
export const write = (name: string, type: string, buffer: GPUBuffer): Binding => ({ name, type, access: 'read_write', buffer });

/** The WGSL declarations of a spec's bindings. */
export function bindingDeclarations(bindings: readonly Binding[]): string {
  return bindings
    .map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`)
    .join('\n');
}

/** Entry-point arguments every kernel takes. */
export const ENTRY_ARGS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32';

/**
 * Large dispatches are split over x and y (each at most maxComputeWorkgroupsPerDimension), so
 * kernels recover their linear workgroup index; the dispatcher may round the grid up, so every
 * kernel bounds-checks what it derives from it.
 */
export const WGSL_COMMON = /* wgsl */ `
fn linear_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

// NaN by its bits: compilers may fold x != x away under fast-math assumptions.
fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }

// Infinities from runtime bits: an infinite const-expression is a shader-creation error.
fn pos_inf() -> f32 { var b = 0x7f800000u; return bitcast<f32>(b); }
fn neg_inf() -> f32 { var b = 0xff800000u; return bitcast<f32>(b); }
`;

/** Elements of each dtype in one 32-bit word: u8, u16 and bool are packed, as their typed arrays. */
export const ELEMENTS_PER_WORD: Readonly<Record<DType, number>> = { f32: 1, i32: 1, u16: 2, u8: 4, bool: 4 };

/** Workgroups covering `n` items at WORKGROUP_SIZE per workgroup. */
export function groupsFor(n: number): number {
  return Math.ceil(n / WORKGROUP_SIZE);
}

/** Raw bits of element i of an array<u32>, by elements per word: packed ones are zero-extended. */
const LOAD_BITS: Readonly<Record<number, (buffer: string) => string>> = {
  1: (b) => `${b}[i]`,
  2: (b) => `(${b}[i >> 1u] >> ((i & 1u) << 4u)) & 0xffffu`,
  4: (b) => `(${b}[i >> 2u] >> ((i & 3u) << 3u)) & 0xffu`,
};

/** WGSL `fn <fnName>(i: u32) -> u32`: the bits of element i of `buffer` (an array<u32>) of `dtype`. */
export function loadBits(fnName: string, buffer: string, dtype: DType): string {
  return `fn ${fnName}(i: u32) -> u32 { return ${LOAD_BITS[ELEMENTS_PER_WORD[dtype]](buffer)}; }`;
}

/**
 * Entry point of kernels that produce `dtype` elements into `OUT` (an array<u32>), one 32-bit
 * word per invocation so packed elements never share a word between invocations (WGSL has no
 * byte stores). `element` names `fn(o: u32) -> u32` giving the bits of output element o.
 * With `owned` (a `fn(o: u32) -> bool`), elements it rejects keep the word's old bits, which
 * lets several dispatches fill disjoint parts of one output (concat); such kernels cover words
 * from `p_first()` only.
 * Parameters: `p_n()` elements, `p_words()` words to cover (from the first).
 */
export function wordMain(dtype: DType, element: string, owned?: string): string {
  const perWord = ELEMENTS_PER_WORD[dtype];
  const bits = 32 / perWord;
  const mask = perWord === 1 ? '0xffffffffu' : `0x${((1 << bits) - 1).toString(16)}u`;
  return /* wgsl */ `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  let k = linear_group(wid, nwg) * ${WORKGROUP_SIZE}u + li;
  if (k >= p_words()) { return; }
  let w = ${owned ? 'p_first() + k' : 'k'};
  let n = p_n();
  var word = ${owned ? 'OUT[w]' : '0u'};
  for (var j = 0u; j < ${perWord}u; j++) {
    let o = w * ${perWord}u + j;
    if (o < n${owned ? ` && ${owned}(o)` : ''}) {
      let shift = j * ${bits}u;
      word = (word & ~(${mask} << shift)) | ((${element}(o) & ${mask}) << shift);
    }
  }
  OUT[w] = word;
}`;
}

/** Words holding n elements of dtype. */
export function wordsFor(dtype: DType, n: number): number {
  return Math.ceil(n / ELEMENTS_PER_WORD[dtype]);
}
