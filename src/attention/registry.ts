/**
 * Policies by name (`--kv-policy NAME --kv-budget B`): one table, so the CLI, the library API and
 * the benchmark list the same names, and an unknown name is answered with the known ones.
 */
import { ArgumentError } from '../core/errors.js';
import { type Budget, describeBudget, parseBudget } from './budget.js';
import { type DoubleSparsityCalibration, DoubleSparsityPolicy } from './double-sparsity.js';
import { DuoAttentionPolicy, type HeadKinds } from './duo-attention.js';
import { FullPolicy } from './full.js';
import { H2oPolicy } from './h2o.js';
import { LServePolicy } from './lserve.js';
import type { KVPolicy } from './policy.js';
import { PyramidKvPolicy } from './pyramidkv.js';
import { QuestPolicy } from './quest.js';
import { SnapKvPolicy } from './snapkv.js';
import { StreamingLlmPolicy } from './streaming-llm.js';
import { TokenSelectPolicy } from './token-select.js';
import { ZipVlPolicy } from './zipvl.js';

/** Everything a policy may take; each reads its own fields (see its file for defaults). */
export interface PolicyOptions {
  readonly budget?: Budget | string | number | null;
  readonly sinks?: number;
  readonly window?: number;
  readonly recent?: number;
  readonly kernel?: number;
  readonly pageSize?: number;
  readonly denseLayers?: number;
  readonly similarityThreshold?: number;
  readonly attentionShare?: number;
  readonly rest?: 'drop' | 'int8';
  /** Calibration outputs: Double Sparsity's channels, DuoAttention/LServe's head kinds. */
  readonly calibration?: DoubleSparsityCalibration;
  readonly heads?: HeadKinds;
}

type Factory = (budget: Budget | null, o: PolicyOptions) => KVPolicy;

function needBudget(name: string, budget: Budget | null): Budget {
  if (!budget) throw new ArgumentError(`${name} needs a KV budget (tokens such as 1024, or a fraction such as 1/16)`);
  return budget;
}

const POLICIES: Readonly<Record<string, Factory>> = {
  full: () => new FullPolicy(),
  'streaming-llm': (b, o) => new StreamingLlmPolicy({ budget: needBudget('streaming-llm', b), sinks: o.sinks }),
  h2o: (b) => new H2oPolicy({ budget: needBudget('h2o', b) }),
  snapkv: (b, o) => new SnapKvPolicy({ budget: needBudget('snapkv', b), window: o.window, kernel: o.kernel }),
  pyramidkv: (b, o) => new PyramidKvPolicy({ budget: needBudget('pyramidkv', b), window: o.window, kernel: o.kernel }),
  quest: (b, o) => new QuestPolicy({ budget: needBudget('quest', b), pageSize: o.pageSize, denseLayers: o.denseLayers }),
  'token-select': (b, o) => new TokenSelectPolicy({ budget: needBudget('token-select', b), sinks: o.sinks, recent: o.recent, similarityThreshold: o.similarityThreshold, kernel: o.kernel }),
  'double-sparsity': (b, o) => new DoubleSparsityPolicy({ budget: needBudget('double-sparsity', b), calibration: o.calibration, recent: o.recent }),
  'duo-attention': (b, o) => new DuoAttentionPolicy({ budget: b, heads: o.heads, sinks: o.sinks, window: o.window }),
  lserve: (b, o) => new LServePolicy({ budget: needBudget('lserve', b), heads: o.heads, sinks: o.sinks, window: o.window, pageSize: o.pageSize }),
  zipvl: (b, o) => new ZipVlPolicy({ budget: b, attentionShare: o.attentionShare, window: o.window, rest: o.rest }),
};

export const POLICY_NAMES: readonly string[] = Object.keys(POLICIES);

export function createPolicy(name: string, options: PolicyOptions = {}): KVPolicy {
  const factory = POLICIES[name];
  if (!factory) throw new ArgumentError(`unknown KV-cache policy '${name}'; known: ${POLICY_NAMES.join(', ')}`);
  const b = options.budget;
  const budget = b === undefined || b === null ? null : typeof b === 'object' ? b : parseBudget(b);
  return factory(budget, options);
}

/** One line naming a policy, its paper and budget (for reports). */
export function describePolicy(policy: KVPolicy): string {
  return `${policy.name} (${policy.paper}; ${policy.budget ? describeBudget(policy.budget) : 'no budget'}; ${policy.queryAware ? 'query-aware' : 'question-blind'})`;
}
