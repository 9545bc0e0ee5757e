/**
 * KV budgets with explicit units (as SCBench and kvpress state them): a number of tokens, or a
 * fraction of the context. A budget counts every position a KV head keeps or attends to per
 * step — sinks, recent window and selected tokens together — so equal budgets cost equal bytes.
 */
import { ArgumentError } from '../core/errors.js';

export type Budget = { readonly unit: 'tokens'; readonly tokens: number } | { readonly unit: 'fraction'; readonly fraction: number };

/** What a budget comes to at one context length. */
export interface ResolvedBudget {
  /** The budget in tokens (may exceed the context; then fellBackToFull). */
  readonly budgetTokens: number;
  /** The budget covers the whole context: the policy keeps and reads everything (full attention). */
  readonly fellBackToFull: boolean;
}

export function budgetTokens(tokens: number): Budget {
  if (!Number.isInteger(tokens) || tokens < 0) throw new ArgumentError(`KV budget: ${tokens} tokens must be a non-negative integer`);
  if (tokens === 0) throw new ArgumentError('KV budget: 0 tokens keeps nothing to attend to; give at least 1 token (or a fraction of the context)');
  return { unit: 'tokens', tokens };
}

export function budgetFraction(fraction: number): Budget {
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 1) throw new ArgumentError(`KV budget: fraction ${fraction} must lie in (0, 1]`);
  if (fraction === 0) throw new ArgumentError('KV budget: a fraction of 0 keeps nothing to attend to; give a fraction in (0, 1]');
  return { unit: 'fraction', fraction };
}

/**
 * Parses a budget as users write it: "1024" (tokens), "1/16", "6.25%" or "0.0625" (fractions of
 * the context). A number below 1 is a fraction; an integer >= 1 is tokens.
 */
export function parseBudget(text: string | number): Budget {
  if (typeof text === 'number') return text > 0 && text < 1 ? budgetFraction(text) : budgetTokens(text);
  const s = text.trim();
  const ratio = /^(\d+)\s*\/\s*(\d+)$/.exec(s);
  if (ratio) {
    const den = Number(ratio[2]);
    if (den === 0) throw new ArgumentError(`KV budget '${text}': the denominator is 0`);
    return budgetFraction(Number(ratio[1]) / den);
  }
  if (s.endsWith('%')) {
    const pct = Number(s.slice(0, -1));
    if (!Number.isFinite(pct)) throw new ArgumentError(`KV budget '${text}' is not a percentage`);
    return budgetFraction(pct / 100);
  }
  const n = Number(s);
  if (s === '' || !Number.isFinite(n)) throw new ArgumentError(`KV budget '${text}': expected tokens (1024), a fraction (0.0625, 1/16) or a percentage (6.25%)`);
  return n > 0 && n < 1 ? budgetFraction(n) : budgetTokens(n);
}

/** Tokens a budget allows at `contextTokens` positions; at or past the context it falls back to full. */
export function resolveBudget(budget: Budget, contextTokens: number): ResolvedBudget {
  const tokens = budget.unit === 'tokens' ? budget.tokens : Math.max(1, Math.ceil(budget.fraction * contextTokens));
  return { budgetTokens: tokens, fellBackToFull: tokens >= contextTokens };
}

/**
 * Tokens per layer and KV head: `tokensOf(layer, kvHead)` capped at the context (a budget at or
 * past the context reads the whole context).
 */
export function budgetsPerHead(kvHeads: readonly number[], contextTokens: number, tokensOf: (layer: number, kvHead: number) => number): number[][] {
  return kvHeads.map((n, l) => Array.from({ length: n }, (_, g) => Math.min(contextTokens, tokensOf(l, g))));
}

export function describeBudget(budget: Budget): string {
  return budget.unit === 'tokens' ? `${budget.tokens} tokens` : `${budget.fraction} of the context`;
}
