/**
 * The pruning benchmark's cases, records and checks (issue "Post-training pruning"): each case is
 * one recipe step run on the trained tinyshakespeare model, judged by held-out perplexity against
 * the dense model, file size, and decode speed of its structure on the ~100M decode-benchmark
 * model. The checks are the papers' qualitative results and the speed bars.
 */
import type { PruneStep } from '../pruning/recipe.js';
import { PruneStepSchema } from '../pruning/recipe.js';
import type { BarResult } from './kernel-bars.js';

export interface PruningCase {
  readonly step: PruneStep;
}

export interface PruningRecord {
  /** 'dense' for the unpruned baseline; 'cfsp' for structured (channel/head) pruning. */
  method: string;
  refine: string | null;
  pattern: string;
  allocation: string;
  /** Target sparsity of the step. */
  sparsity: number;
  /** Fraction of the block Linears' parameters zeroed or removed. */
  achievedSparsity: number;
  /** Held-out perplexity of the pruned model as saved (reloaded from its folder). */
  perplexity: number;
  densePerplexity: number;
  /** Greedy decode speedup over dense of this structure on the ~100M model (sparsity-profile.ts). */
  decodeSpeedupVsDense: number;
  decodeMsPerToken: number;
  denseDecodeMsPerToken: number;
  /** Bytes of the saved model folder's weight files. */
  fileBytes: number;
  denseFileBytes: number;
  pruneSeconds: number;
}

function step(fields: Record<string, unknown>): PruningCase {
  return { step: PruneStepSchema.parse(fields) };
}

const AT_50 = ['magnitude', 'wanda', 'sparsegpt'].map((method) => step({ method, sparsity: 0.5 }));
const AT_2_4 = ['magnitude', 'wanda', 'sparsegpt'].map((method) => step({ method, sparsity: 0.5, pattern: '2:4' }));
const AT_70 = [
  step({ method: 'wanda', sparsity: 0.7 }),
  step({ method: 'wanda', sparsity: 0.7, allocation: 'owl' }),
  step({ method: 'wanda', sparsity: 0.7, refine: 'dsnot' }),
];

export const FULL_PRUNING_CASES: readonly PruningCase[] = [
  ...AT_50,
  ...AT_2_4,
  step({ method: 'sparsegpt', sparsity: 0.5, pattern: '4:8' }),
  step({ method: 'magnitude', sparsity: 0.5, pattern: 'block:16x16' }),
  step({ method: 'wanda', sparsity: 0.5, pattern: 'block:16x16' }),
  step({ method: 'magnitude', sparsity: 0.7 }),
  ...AT_70,
  step({ method: 'wanda', sparsity: 0.7, allocation: 'global' }),
  step({ method: 'wanda', sparsity: 0.7, allocation: 'erk' }),
  step({ method: 'wanda', sparsity: 0.7, allocation: 'evo' }),
  step({ method: 'sparsegpt', sparsity: 0.7 }),
  step({ method: 'sparsegpt', sparsity: 0.9 }),
  step({ method: 'wanda', sparsity: 0.25, pattern: 'channels' }),
  step({ method: 'wanda', sparsity: 0.25, pattern: 'channels', allocation: 'cfsp' }),
  step({ method: 'wanda', sparsity: 0.25, pattern: 'heads' }),
];

/** About a third of the time: the cases the checks read, EvoPress with fewer generations. */
export const QUICK_PRUNING_CASES: readonly PruningCase[] = [
  ...AT_50,
  ...AT_2_4,
  ...AT_70,
  step({ method: 'wanda', sparsity: 0.7, allocation: 'evo', evoGenerations: 10 }),
];

export function caseLabel(s: PruneStep): string {
  const parts = [s.pattern === 'channels' || s.pattern === 'heads' ? `cfsp ${s.pattern}` : s.method];
  if (s.refine) parts.push(`+${s.refine}`);
  if (s.pattern !== 'unstructured' && s.pattern !== 'channels' && s.pattern !== 'heads') parts.push(s.pattern);
  if (s.allocation !== 'uniform') parts.push(s.allocation);
  parts.push(`${Math.round(s.sparsity * 100)}%`);
  return parts.join(' ');
}

const isStructured = (pattern: string) => pattern === 'channels' || pattern === 'heads';

/** The record's method column: structured pruning ranks by CFSP's scores whatever the step's method. */
export function recordMethod(s: PruneStep): string {
  return isStructured(s.pattern) ? 'cfsp' : s.method;
}

type Select = Partial<Pick<PruningRecord, 'method' | 'refine' | 'pattern' | 'allocation' | 'sparsity'>>;

function find(records: readonly PruningRecord[], select: Select): PruningRecord | undefined {
  const wanted = { refine: null, allocation: 'uniform', pattern: 'unstructured', ...select };
  return records.find((r) => Object.entries(wanted).every(([k, v]) => r[k as keyof PruningRecord] === v));
}

interface OrderingCheck {
  readonly bar: string;
  /** Perplexity of `worse` over that of `better`: above 1 means the ordering holds. */
  readonly worse: Select;
  readonly better: Select;
}

const ORDERINGS: OrderingCheck[] = [
  { bar: '50%: magnitude ppl / Wanda ppl', worse: { method: 'magnitude', sparsity: 0.5 }, better: { method: 'wanda', sparsity: 0.5 } },
  { bar: '50%: magnitude ppl / SparseGPT ppl', worse: { method: 'magnitude', sparsity: 0.5 }, better: { method: 'sparsegpt', sparsity: 0.5 } },
  { bar: '2:4: magnitude ppl / Wanda ppl', worse: { method: 'magnitude', sparsity: 0.5, pattern: '2:4' }, better: { method: 'wanda', sparsity: 0.5, pattern: '2:4' } },
  { bar: '2:4: magnitude ppl / SparseGPT ppl', worse: { method: 'magnitude', sparsity: 0.5, pattern: '2:4' }, better: { method: 'sparsegpt', sparsity: 0.5, pattern: '2:4' } },
  { bar: '70%: Wanda uniform ppl / OWL ppl', worse: { method: 'wanda', sparsity: 0.7 }, better: { method: 'wanda', sparsity: 0.7, allocation: 'owl' } },
  { bar: '70%: Wanda ppl / Wanda+DSnoT ppl', worse: { method: 'wanda', sparsity: 0.7 }, better: { method: 'wanda', sparsity: 0.7, refine: 'dsnot' } },
  { bar: '70%: Wanda uniform ppl / EvoPress ppl', worse: { method: 'wanda', sparsity: 0.7 }, better: { method: 'wanda', sparsity: 0.7, allocation: 'evo' } },
];

const SPEED_BARS: { bar: string; select: Select; threshold: number }[] = [
  { bar: '50% unstructured: decode vs dense', select: { method: 'wanda', sparsity: 0.5 }, threshold: 1.2 },
  { bar: '2:4: decode vs dense', select: { method: 'wanda', sparsity: 0.5, pattern: '2:4' }, threshold: 1.3 },
];

/** The checks on one run's records (a check whose records are absent is left out). */
export function checkPruningBars(records: readonly PruningRecord[]): BarResult[] {
  const out: BarResult[] = [];
  for (const o of ORDERINGS) {
    const worse = find(records, o.worse);
    const better = find(records, o.better);
    if (!worse || !better) continue;
    const value = worse.perplexity / better.perplexity;
    out.push({ bar: o.bar, value, threshold: 1, strict: true, pass: value > 1 });
  }
  for (const s of SPEED_BARS) {
    const r = find(records, s.select);
    if (r) out.push({ bar: s.bar, value: r.decodeSpeedupVsDense, threshold: s.threshold, pass: r.decodeSpeedupVsDense >= s.threshold });
  }
  return out;
}
