/**
 * Rotary position embedding (RoFormer) on x [..., T, D] with cos/sin tables [T, D/2]: one
 * invocation per rotated pair, which it reads and writes whole. Pairs are (i, i + D/2) in the
 * rotate_half layout of HF Llama, (2i, 2i + 1) interleaved (GPT-J, Meta's original code).
 */
import { Params } from '../params.js';
import { ENTRY_ARGS, groupsFor, type KernelSpec, read, WORKGROUP_SIZE, write } from './common.js';

export function ropeKernel(x: GPUBuffer, cos: GPUBuffer, sin: GPUBuffer, y: GPUBuffer, size: number, T: number, D: number, interleaved: boolean): KernelSpec {
  const pairs = size / 2;
  const [first, second] = interleaved ? ['base + 2u * c', 'p + 1u'] : ['base + c', 'p + half'];
  return {
    key: `rope:${interleaved ? 'interleaved' : 'half'}`,
    params: new Params().u32('n', pairs).u32('T', T).u32('half', D / 2),
    bindings: [read('X', 'f32', x), read('COS', 'f32', cos), read('SIN', 'f32', sin), write('Y', 'f32', y)],
    workgroups: groupsFor(pairs),
    body: () => /* wgsl */ `
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(${ENTRY_ARGS}) {
  let i = linear_group(wid, nwg) * ${WORKGROUP_SIZE}u + li;
  if (i >= p_n()) { return; }
  let half = p_half();
  let c = i % half;          // which frequency
  let row = i / half;        // which (..., t) vector
  let t = row % p_T();
  let base = row * 2u * half;
  let p = ${first};
  let q = ${second};
  let cs = COS[t * half + c];
  let sn = SIN[t * half + c];
  let x1 = X[p];
  let x2 = X[q];
  Y[p] = x1 * cs - x2 * sn;
  Y[q] = x2 * cs + x1 * sn;
}`,
  };
}
