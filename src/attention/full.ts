/**
 * Full cache (the reference every policy is judged against): every position kept and attended.
 */
import type { KVCacheShape } from '../models/kv-cache.js';
import { budgetsPerHead } from './budget.js';
import { type KVPolicy, type KVPolicyState, type Selection, selectAll } from './policy.js';

export class FullPolicy implements KVPolicy {
  readonly name = 'full';
  readonly paper = 'none (dense attention over the whole cache; the reference)';
  readonly queryAware = false;
  readonly budget = null;
  readonly readsKeys = false;
  readonly readsQueries = { prefill: false, decode: false };

  budgetsAt(shape: KVCacheShape, contextTokens: number): number[][] {
    return budgetsPerHead(shape.kvHeads, contextTokens, () => contextTokens);
  }

  createState(): KVPolicyState {
    return new FullState();
  }
}

class FullState implements KVPolicyState {
  onAppend(): void {}
  onPrefill(): void {}
  select(): Selection {
    return selectAll(false);
  }
  kept(): null {
    return null;
  }
  metadataBytes(): number {
    return 0;
  }
  /** Nothing changes in it: a new one is the copy. */
  clone(): FullState {
    return new FullState();
  }
}
