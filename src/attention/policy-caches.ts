/**
 * KV caches run by a policy for generate(): the KVCacheFactory that models/generate.ts takes,
 * built from a policy or its registry name, e.g.
 *   generate(model, prompts, { maxNewTokens: 64, kvCache: policyCaches('quest', { budget: 1024 }) })
 * and the policy's numbers after generation (PolicyKVCache.report() summed over sequences).
 * Lives here, not in models/, so that the decoder depends on no KV-cache method.
 */
import { ArgumentError } from '../core/errors.js';
import type { KVCacheFactory, KVCacheReport } from '../models/generate.js';
import { layerShapeOf } from '../models/decoder-config.js';
import type { KVCache } from '../models/kv-cache.js';
import type { DecoderModel } from '../models/llama.js';
import { describeBudget } from './budget.js';
import { PolicyKVCache } from './policy-cache.js';
import type { KVPolicy } from './policy.js';
import { createPolicy, type PolicyOptions } from './registry.js';

export class PolicyCaches implements KVCacheFactory {
  constructor(readonly policy: KVPolicy) {}

  create(model: DecoderModel, capacity: number): PolicyKVCache {
    const { config } = model;
    if (capacity > config.maxPositions) throw new ArgumentError(`${capacity} positions exceed the model's context of ${config.maxPositions} (max_position_embeddings)`);
    const kvHeads = Array.from({ length: config.numLayers }, (_, l) => layerShapeOf(config, l).numKvHeads);
    return new PolicyKVCache({ layers: config.numLayers, kvHeads, headDim: config.headDim, capacity }, this.policy, model.backend);
  }

  report(caches: readonly KVCache[]): KVCacheReport {
    const reports = caches.map((c) => {
      if (!(c instanceof PolicyKVCache)) throw new ArgumentError('PolicyCaches.report: a cache it did not make');
      return c.report();
    });
    const fallback = [...new Set(reports.flatMap((r) => r.fullFallbackLayers))].sort((a, b) => a - b);
    return {
      policy: this.policy.name,
      budget: this.policy.budget ? describeBudget(this.policy.budget) : null,
      kvBytesKept: reports.reduce((s, r) => s + r.kvBytesKept, 0),
      kvBytesFull: reports.reduce((s, r) => s + r.kvBytesFull, 0),
      bytesReadPerStep: reports.reduce((s, r) => s + r.bytesReadPerStep, 0),
      fellBackToFull: fallback.length > 0,
      fullFallbackLayers: fallback,
    };
  }
}

/**
 * Caches for `policy` (a KVPolicy, or a registry name with its options: budget, calibration,
 * heads, ...). Unknown names, a missing or zero budget and a missing calibration fail here,
 * before any work.
 */
export function policyCaches(policy: KVPolicy | string, options: PolicyOptions = {}): PolicyCaches {
  return new PolicyCaches(typeof policy === 'string' ? createPolicy(policy, options) : policy);
}
