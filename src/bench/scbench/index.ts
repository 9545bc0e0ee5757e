/**
 * The SCBench-style task registry (SCBench, Li et al. 2024): names, one-line descriptions and
 * generators with task defaults. Task-specific options (key lengths, alphabets, chains, ...) go
 * through the per-task generators exported here.
 */
import { ArgumentError } from '../../core/errors.js';
import { MATH_FIND, mathFindTask } from './math-find.js';
import { MIX_NEEDLES, mixNeedlesTask } from './mix-needles.js';
import { RETR_KV, retrKvTask } from './retr-kv.js';
import { RETR_MULTIHOP, retrMultiHopTask } from './retr-multihop.js';
import { RETR_PREFIX_SUFFIX, retrPrefixSuffixTask } from './retr-prefix-suffix.js';
import type { CommonTaskOptions, ScbenchSample } from './sample.js';

export { mathFindTask, type MathFindOptions, STATISTICS } from './math-find.js';
export { mixNeedlesTask, type MixNeedlesOptions } from './mix-needles.js';
export { encodePlan, promptAt, SHARED_CONTEXT_MODES, sharedContextPlan, type PlanStep, type SharedContextMode, type SharedContextPlan } from './modes.js';
export { retrKvTask, type RetrKvOptions } from './retr-kv.js';
export { retrMultiHopTask, type RetrMultiHopOptions } from './retr-multihop.js';
export { retrPrefixSuffixTask, type RetrPrefixSuffixOptions } from './retr-prefix-suffix.js';
export type { CommonTaskOptions, ScbenchSample, ScbenchTurn, ScoringKind, TaskStyle } from './sample.js';
export { meanScoreByTurn, roundHalfEven, scoreAnswer, scoreTurn } from './scoring.js';

export interface ScbenchTaskEntry {
  readonly name: string;
  readonly description: string;
  /** Needs contextLength: list tasks fill to it; the needle tasks pad with filler up to it. */
  generate(options: CommonTaskOptions): ScbenchSample;
}

const ENTRIES: readonly ScbenchTaskEntry[] = [
  { name: RETR_KV, description: 'value of a key in a JSON object of random UUID pairs', generate: retrKvTask },
  { name: RETR_PREFIX_SUFFIX, description: 'the one string with a given prefix and suffix in a list of random strings', generate: retrPrefixSuffixTask },
  { name: RETR_MULTIHOP, description: 'all variables of an assignment chain hidden in filler (variable tracking)', generate: retrMultiHopTask },
  { name: MATH_FIND, description: 'an order statistic (largest, smallest, median, ...) of a long list of integers', generate: mathFindTask },
  { name: MIX_NEEDLES, description: 'pass keys and key-value facts hidden in filler text, asked in turn', generate: mixNeedlesTask },
];

export const SCBENCH_TASK_NAMES: readonly string[] = ENTRIES.map((e) => e.name);

export function scbenchTask(name: string): ScbenchTaskEntry {
  const entry = ENTRIES.find((e) => e.name === name);
  if (entry === undefined) throw new ArgumentError(`unknown SCBench task '${name}' (known: ${SCBENCH_TASK_NAMES.join(', ')})`);
  return entry;
}

/** One sample of the named task; contextLength is required here (the registry sizes every task by it). */
export function generateScbenchSample(name: string, options: CommonTaskOptions): ScbenchSample {
  const entry = scbenchTask(name);
  if (options.contextLength === undefined) throw new ArgumentError(`generateScbenchSample: ${name} needs contextLength`);
  return entry.generate(options);
}
