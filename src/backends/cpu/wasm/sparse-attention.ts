// Block-sparse prefill attention (MInference, Jiang et al. 2024; SeerAttention, Gao et al. 2024)
// with the online softmax of FlashAttention (Dao et al. 2022): per (head, query block), a running
// max m and sum l per query row, and for each kept key block: S = scale Q K^T, m' = max(m, rowmax S),
// O = O e^(m - m') + e^(S - m') V, l = l e^(m - m') + rowsum e^(S - m'); at the end O / l.
// Reference: backends/cpu/reference/sparse-attention.ts.
// q, out [T, heads, D]; k, v [T, kvHeads, D]; blocks u8 [heads, qBlocks, kBlocks] (1 = compute).
// Skipped blocks cost one mask byte: neither their K nor their V rows are loaded.
import { addWeighted1, addWeighted2x4, addWeighted4, dot1, dot2x4, dot4 } from './attention';
import { expShiftedSum, rowMax } from './math';

// Keys of a block that query row t sees: all nk, or under the causal limit those s <= t.
@inline function visibleKeys(t: i32, s0: i32, nk: i32, causal: i32): i32 {
  return causal ? min(nk, max(0, t - s0 + 1)) : nk;
}

// o[0 .. D) *= f
@inline function scaleRow(o: usize, f: f32, D: i32): void {
  const fv = f32x4.splat(f);
  const end4 = <usize>(D & ~3) << 2;
  let c: usize = 0;
  for (; c < end4; c += 16) v128.store(o + c, f32x4.mul(v128.load(o + c), fv));
  for (const end = <usize>D << 2; c < end; c += 4) store<f32>(o + c, load<f32>(o + c) * f);
}

// o += sum over j in [j, n) of p[j] v[s0 + j], one row (the tail of a pair, or a lone row).
@inline function addWeightedFrom(o: usize, p: usize, vh: usize, s0: i32, j: i32, n: i32, posBytes: usize, D: i32): void {
  for (; j + 4 <= n; j += 4) {
    const v0 = vh + <usize>(s0 + j) * posBytes;
    addWeighted4(o, p + (<usize>j << 2), v0, v0 + posBytes, v0 + 2 * posBytes, v0 + 3 * posBytes, D);
  }
  for (; j < n; j++) addWeighted1(o, p + (<usize>j << 2), vh + <usize>(s0 + j) * posBytes, D);
}

// Items i = h * qBlocks + qb in [begin, end). `scratch` gives each thread
// block_sparse_scratch_bytes(blockQ, blockK, D): a score row of `stride` words per query row, m, l,
// then the block's query rows and output accumulators, each packed D words apart. Packing matters:
// in q and out one head's rows lie heads * D * 4 bytes apart, a multiple of 4 KiB in Llama shapes,
// where a store to one row stalls the next row's loads (4K aliasing) and the rows share L1 sets;
// accumulating in place ran at half the dense kernel's rate.
export function block_sparse_attention_f32(
  q: usize, k: usize, v: usize, out: usize, blocks: usize,
  T: i32, heads: i32, kvHeads: i32, D: i32, blockQ: i32, blockK: i32, scale: f32, causal: i32,
  scratch: usize, begin: i32, end: i32, thread: i32,
): void {
  const rowBytes = <usize>D << 2;
  const qRowBytes = <usize>heads * rowBytes; // one query position, all heads
  const posBytes = <usize>kvHeads * rowBytes; // one key position, all KV heads
  const group = heads / kvHeads;
  const qBlocks = (T + blockQ - 1) / blockQ;
  const kBlocks = (T + blockK - 1) / blockK;
  const stride = (blockK + 3) & ~3;
  const scoreBytes = <usize>stride << 2;
  const scores = scratch + <usize>thread * <usize>block_sparse_scratch_bytes(blockQ, blockK, D);
  const runMax = scores + <usize>blockQ * scoreBytes;
  const runSum = runMax + (<usize>blockQ << 2);
  const q0 = runSum + (<usize>blockQ << 2);
  const o0 = q0 + <usize>blockQ * rowBytes;
  for (let item = begin; item < end; item++) {
    const h = item / qBlocks;
    const t0 = (item % qBlocks) * blockQ;
    const nq = min(blockQ, T - t0);
    const qh = q + <usize>t0 * qRowBytes + <usize>h * rowBytes;
    const outh = out + <usize>t0 * qRowBytes + <usize>h * rowBytes;
    const kh = k + <usize>(h / group) * rowBytes;
    const vh = v + <usize>(h / group) * rowBytes;
    const mask = blocks + <usize>item * <usize>kBlocks;
    for (let i = 0; i < nq; i++) {
      memory.copy(q0 + <usize>i * rowBytes, qh + <usize>i * qRowBytes, rowBytes);
      memory.fill(o0 + <usize>i * rowBytes, 0, rowBytes);
      store<f32>(runMax + (<usize>i << 2), -Infinity);
      store<f32>(runSum + (<usize>i << 2), 0);
    }
    // Under the causal limit, key blocks past the block's last query are never seen.
    const lastKb = causal ? (t0 + nq - 1) / blockK : kBlocks - 1;
    for (let kb = 0; kb <= lastKb; kb++) {
      if (!load<u8>(mask + <usize>kb)) continue;
      const s0 = kb * blockK;
      const nk = min(blockK, T - s0);
      // Rows before the block's first key see none of it (causal).
      const first = causal ? max(0, s0 - t0) : 0;
      // S = scale Q K^T, two query rows and four keys at a time (each K load feeds two madds).
      // The pair computes the second row's visible keys; the first row's extra scores go unused.
      let i = first;
      for (; i < nq; i += 2) {
        const pair = i + 1 < nq;
        const n = visibleKeys(t0 + i + (pair ? 1 : 0), s0, nk, causal);
        const qi = q0 + <usize>i * rowBytes, si = scores + <usize>i * scoreBytes;
        let j = 0;
        for (; j + 4 <= n; j += 4) {
          const k0 = kh + <usize>(s0 + j) * posBytes;
          const k1 = k0 + posBytes, k2 = k1 + posBytes, k3 = k2 + posBytes;
          if (pair) dot2x4(qi, qi + rowBytes, k0, k1, k2, k3, D, scale, si + (<usize>j << 2), si + scoreBytes + (<usize>j << 2));
          else dot4(qi, k0, k1, k2, k3, D, scale, si + (<usize>j << 2));
        }
        for (; j < n; j++) {
          const kj = kh + <usize>(s0 + j) * posBytes;
          dot1(qi, kj, D, scale, si + (<usize>j << 2));
          if (pair) dot1(qi + rowBytes, kj, D, scale, si + scoreBytes + (<usize>j << 2));
        }
      }
      // Online softmax: rescale what was summed under the old max, add this block's exponentials.
      for (i = first; i < nq; i++) {
        const n = visibleKeys(t0 + i, s0, nk, causal);
        const si = scores + <usize>i * scoreBytes;
        const mOld = load<f32>(runMax + (<usize>i << 2));
        const mNew = max(mOld, rowMax(si, n));
        const sum = expShiftedSum(si, si, n, mNew);
        // mOld = -inf: nothing summed yet (O and l are 0), and e^(-inf - mNew) would be 0 anyway.
        const correction: f32 = mOld == -Infinity ? 0 : <f32>Math.exp(<f64>(mOld - mNew));
        store<f32>(runSum + (<usize>i << 2), <f32>(<f64>load<f32>(runSum + (<usize>i << 2)) * correction + sum));
        store<f32>(runMax + (<usize>i << 2), mNew);
        if (correction != 1 && mOld != -Infinity) scaleRow(o0 + <usize>i * rowBytes, correction, D);
      }
      // O += P V, two rows at a time over the keys both see (each V load feeds two madds).
      for (i = first; i < nq; i += 2) {
        const oi = o0 + <usize>i * rowBytes, pi = scores + <usize>i * scoreBytes;
        const na = visibleKeys(t0 + i, s0, nk, causal);
        if (i + 1 == nq) {
          addWeightedFrom(oi, pi, vh, s0, 0, na, posBytes, D);
          continue;
        }
        const nb = visibleKeys(t0 + i + 1, s0, nk, causal);
        let j = 0;
        for (; j + 4 <= na; j += 4) {
          const v0 = vh + <usize>(s0 + j) * posBytes;
          addWeighted2x4(oi, oi + rowBytes, pi + (<usize>j << 2), pi + scoreBytes + (<usize>j << 2), v0, v0 + posBytes, v0 + 2 * posBytes, v0 + 3 * posBytes, D);
        }
        addWeightedFrom(oi, pi, vh, s0, j, na, posBytes, D);
        addWeightedFrom(oi + rowBytes, pi + scoreBytes, vh, s0, j, nb, posBytes, D);
      }
    }
    // O / l; a row that saw no key has l = 0 and keeps its zeros.
    for (let i = 0; i < nq; i++) {
      const l = load<f32>(runSum + (<usize>i << 2));
      const oi = o0 + <usize>i * rowBytes;
      if (l > 0) scaleRow(oi, <f32>(1 / <f64>l), D);
      memory.copy(outh + <usize>i * qRowBytes, oi, rowBytes);
    }
  }
}

// Scratch bytes one thread needs: blockQ score rows of blockK words (padded to a multiple of 4),
// the running max and sum of each query row, then blockQ packed query rows and output rows of D.
export function block_sparse_scratch_bytes(blockQ: i32, blockK: i32, D: i32): i32 {
  return (blockQ * ((blockK + 3) & ~3) + 2 * blockQ + 2 * blockQ * D) << 2;
}
