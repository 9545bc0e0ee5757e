/** The decode benchmark's bars (issue "Run Hugging Face Llama-family models", part 6). */
import type { BarResult } from './kernel-bars.js';
import type { DecodeRecord } from './decode.js';

const BARS: { bar: string; select: (r: DecodeRecord) => boolean; threshold: number }[] = [
  // 50% unstructured: as CSR (the variant) and as bitmap rows (the format sparsekit stores it in, sparse/unstructured.ts).
  { bar: 'decode, 50% unstructured CSR: vs dense', select: (r) => r.format === 'csr' && r.sparsity === 0.5, threshold: 1.2 },
  { bar: 'decode, 50% unstructured bitmap: vs dense', select: (r) => r.format === 'bitmap' && r.sparsity === 0.5, threshold: 1.2 },
  { bar: 'decode, 2:4: vs dense', select: (r) => r.format === 'nm' && r.pattern === '2:4', threshold: 1.3 },
  { bar: 'decode, 90% unstructured CSR: vs dense', select: (r) => r.format === 'csr' && r.sparsity === 0.9, threshold: 3 },
];

export function checkDecodeBars(records: readonly DecodeRecord[]): BarResult[] {
  return BARS.flatMap((b) =>
    records.filter(b.select).map((r) => ({ bar: b.bar, value: r.speedupVsDense, threshold: b.threshold, pass: r.speedupVsDense >= b.threshold })),
  );
}
