// One query's dot products with every cached key, per query head: out[h, t] = q[h] . k[t, h / group]
// for t < length (unscaled, no softmax). The vote of query-aware selection policies (TokenSelect's
// per-head soft voting, Wu et al. 2024) is a softmax over these per head; computed here with the
// attention kernel's four-keys-at-a-time dot products instead of on the host.
// Reference: backends/cpu/reference/attention.ts (queryKeyLogitsReference).
// q [heads, D]; k [capacity, kvHeads, D] (position-major, the KV cache's layout); out [heads, length].
// Partitions are position ranges [begin, end): every query head of a KV head reads the same four
// key rows while they are in L1.
import { dot1, dot4 } from './attention';

export function query_key_logits_f32(q: usize, k: usize, out: usize, heads: i32, kvHeads: i32, D: i32, length: i32, begin: i32, end: i32): void {
  const rowBytes = <usize>D << 2;
  const posBytes = <usize>kvHeads * rowBytes;
  const outRowBytes = <usize>length << 2;
  const group = heads / kvHeads;
  let t = begin;
  for (; t + 4 <= end; t += 4) {
    const k0 = k + <usize>t * posBytes;
    for (let g = 0; g < kvHeads; g++) {
      const kg = k0 + <usize>g * rowBytes;
      for (let i = 0; i < group; i++) {
        const h = g * group + i;
        dot4(q + <usize>h * rowBytes, kg, kg + posBytes, kg + 2 * posBytes, kg + 3 * posBytes, D, 1, out + <usize>h * outRowBytes + (<usize>t << 2));
      }
    }
  }
  for (; t < end; t++) {
    for (let h = 0; h < heads; h++) {
      dot1(q + <usize>h * rowBytes, k + <usize>t * posBytes + <usize>(h / group) * rowBytes, D, 1, out + <usize>h * outRowBytes + (<usize>t << 2));
    }
  }
}
