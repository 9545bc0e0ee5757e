/**
 * SCBench's finding (Li et al. 2024, sections 4-5) as pass/fail bars on one harness run: at
 * equal budget, question-blind token dropping (StreamingLLM in both modes, SnapKV in
 * multi-request mode, where it compresses before any question) falls on the later turns, while
 * query-aware selection (Quest, TokenSelect) stays close to the full cache. "Later turns" are
 * turns 2 onwards (index >= 1), averaged; each bar compares with full in the same task and mode.
 * Reported, never asserted in tests: it is a property of the model as much as of the code.
 */
import type { BarResult } from '../kernel-bars.js';
import type { ScbenchRecord } from './harness.js';

/** Accuracy points below full that count as "falls". */
export const FALL_POINTS = 0.2;
/** Accuracy points below full still "close to full". */
export const CLOSE_POINTS = 0.1;

const BLIND: readonly { policy: string; modes: readonly string[] }[] = [
  { policy: 'streaming-llm', modes: ['multi-turn', 'multi-request'] },
  { policy: 'snapkv', modes: ['multi-request'] },
];
const AWARE: readonly string[] = ['quest', 'token-select'];

export function checkScbenchFinding(records: readonly ScbenchRecord[]): BarResult[] {
  const later = (rs: readonly ScbenchRecord[]) => {
    const xs = rs.filter((r) => r.turn >= 1);
    return xs.length === 0 ? null : xs.reduce((s, r) => s + r.accuracy, 0) / xs.length;
  };
  const bars: BarResult[] = [];
  const groups = new Set(records.map((r) => `${r.task}\u0000${r.mode}`));
  for (const group of groups) {
    const [task, mode] = group.split('\u0000');
    const inGroup = records.filter((r) => r.task === task && r.mode === mode);
    const full = later(inGroup.filter((r) => r.policy === 'full'));
    if (full === null) continue;
    const budgets = new Set(inGroup.filter((r) => r.policy !== 'full').map((r) => String(r.budget)));
    for (const budget of budgets) {
      const at = (policy: string) => later(inGroup.filter((r) => r.policy === policy && r.label === policy && String(r.budget) === budget));
      for (const { policy, modes } of BLIND) {
        const acc = at(policy);
        if (acc === null || !modes.includes(mode)) continue;
        const drop = full - acc;
        bars.push({ bar: `${task} ${mode} budget ${budget}: ${policy} (question-blind) falls on later turns (full - it)`, value: drop, threshold: FALL_POINTS, unit: 'points', pass: drop >= FALL_POINTS });
      }
      // Each case of a query-aware policy on its own (e.g. Quest at two page sizes).
      const labels = new Set(inGroup.filter((r) => AWARE.includes(r.policy) && String(r.budget) === budget).map((r) => r.label));
      for (const label of labels) {
        const acc = later(inGroup.filter((r) => r.label === label && String(r.budget) === budget));
        if (acc === null) continue;
        const gap = acc - full;
        bars.push({ bar: `${task} ${mode} budget ${budget}: ${label} (query-aware) stays close to full (it - full)`, value: gap, threshold: -CLOSE_POINTS, unit: 'points', pass: gap >= -CLOSE_POINTS });
      }
    }
  }
  return bars;
}
