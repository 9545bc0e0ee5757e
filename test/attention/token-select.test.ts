import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetFraction, budgetTokens } from '../../src/attention/budget.js';
import { poolVotes, TokenSelectPolicy, type TokenSelectState } from '../../src/attention/token-select.js';
import { appendRows, decode, layerKeys, lists, makeKeys, shapeOf } from './helpers.js';

const d = 2;
// Positions 10 and 20 answer query direction (1, 0); 5 and 15 lean towards (0, 1).
const keys = makeKeys(40, 1, d, (p, _g, c) => {
  if (p === 10 || p === 20) return c === 0 ? 3 : 0;
  if (p === 5 || p === 15) return c === 0 ? 2.9 : 3;
  return 0;
});
const twoHeads = (q: number[]) => Float32Array.from([...q, ...q]);

describe('TokenSelect', () => {
  it('soft-votes the top tokens and adds sinks and the recent window', () => {
    const state = new TokenSelectPolicy({ budget: budgetTokens(5), sinks: 1, recent: 2 }).createState(shapeOf(1, d, 64));
    appendRows(state, 0, keys, 1, d, 0, 29);
    assert.deepEqual(lists(decode(state, keys, twoHeads([1, 0]), 29, 2, 1, d)), [[0, 10, 20, 28, 29]]);
  });

  it('reuses its selection while consecutive queries are similar and votes again below the threshold', () => {
    const state = new TokenSelectPolicy({ budget: budgetTokens(5), sinks: 1, recent: 2, similarityThreshold: 0.9 }).createState(shapeOf(1, d, 64)) as TokenSelectState;
    appendRows(state, 0, keys, 1, d, 0, 29);
    assert.deepEqual(lists(decode(state, keys, twoHeads([1, 0]), 29, 2, 1, d)), [[0, 10, 20, 28, 29]]);
    // cos((1, 0), (1, 0.3)) = 0.958 >= 0.9: reused, although a fresh vote would pick 5 and 15.
    const reused = decode(state, keys, twoHeads([1, 0.3]), 30, 2, 1, d);
    assert.deepEqual(lists(reused), [[0, 10, 20, 29, 30]]);
    assert.equal(reused.metadataBytesRead, 0);
    assert.equal(state.reuses, 1);
    const fresh = new TokenSelectPolicy({ budget: budgetTokens(5), sinks: 1, recent: 2 }).createState(shapeOf(1, d, 64));
    appendRows(fresh, 0, keys, 1, d, 0, 30);
    assert.deepEqual(lists(decode(fresh, keys, twoHeads([1, 0.3]), 30, 2, 1, d)), [[0, 5, 15, 29, 30]]);
    // cos((1, 0), (0, 1)) = 0 < 0.9: votes again.
    const voted = decode(state, keys, twoHeads([0, 1]), 31, 2, 1, d);
    assert.deepEqual(lists(voted), [[0, 5, 15, 30, 31]]);
    assert.equal(state.votes, 2);
    assert.ok(voted.metadataBytesRead > 0);
  });

  it('sums per-head softmaxes (soft voting), so one sharp head does not outvote the others', () => {
    // Head 0 is sharp on position 10 (q.k = 30); heads 1-3 are milder on 20 (q.k = 5 each).
    const k = makeKeys(30, 1, 2, (p, _g, c) => (p === 10 ? (c === 0 ? 10 : 0) : p === 20 ? (c === 1 ? 1 : 0) : 0));
    const state = new TokenSelectPolicy({ budget: budgetTokens(4), sinks: 1, recent: 2 }).createState(shapeOf(1, 2, 64));
    appendRows(state, 0, k, 1, 2, 0, 25);
    const q = Float32Array.from([3, 0, 0, 5, 0, 5, 0, 5]);
    const step = state.select(0, { position: 24, query: q, heads: 4, keys: layerKeys(k, 25, 1, 2) });
    // Summed raw q.k would pick 10 (30 against 15); the votes are ~1 for 10 and ~3 x 0.88 for 20.
    assert.deepEqual(lists(step), [[0, 20, 23, 24]]);
  });

  it('attends to everything when sinks + k + recent cover the context', () => {
    const state = new TokenSelectPolicy({ budget: budgetTokens(5), sinks: 1, recent: 2 }).createState(shapeOf(1, d, 64));
    appendRows(state, 0, keys, 1, d, 0, 4);
    const step = decode(state, keys, twoHeads([1, 0]), 4, 2, 1, d);
    assert.equal(step.positions, null);
    assert.equal(step.fellBackToFull, true);
  });

  it('keeps a fraction budget smaller than sinks + recent by cutting them to fit, not by attending to everything', () => {
    // 40 positions, a quarter of them = 10 tokens, against 8 sinks + 16 recent: 5 sinks and the 5 most recent.
    const k = makeKeys(40, 1, 2, (p, _g, c) => (c === 0 ? p / 40 : 1));
    const state = new TokenSelectPolicy({ budget: budgetFraction(0.25), sinks: 8, recent: 16 }).createState(shapeOf(1, 2, 64));
    appendRows(state, 0, k, 1, 2, 0, 40);
    const step = state.select(0, { position: 39, query: Float32Array.from([1, 0, 1, 0]), heads: 2, keys: layerKeys(k, 40, 1, 2) });
    assert.equal(step.fellBackToFull, false);
    assert.deepEqual(lists(step), [[0, 1, 2, 3, 4, 35, 36, 37, 38, 39]]);
  });
  it('pools votes as torch max_pool1d with padding (kernel - 1) / 2: an even kernel reaches further right and drops the last', () => {
    const votes = [1, 5, 2, 0, 0, 3];
    assert.deepEqual([...poolVotes(votes, 3)], [5, 5, 5, 2, 3, 3]);
    // Kernel 4, padding 1: windows [i - 1, i + 2], five of them.
    assert.deepEqual([...poolVotes(votes, 4)], [5, 5, 5, 3, 3]);
  });

  it('never picks the last candidate under an even kernel (it has no pooled score), as the authors', () => {
    // Candidates 1..8 (1 sink, 1 recent at 9), top 3; position 8 holds the only hit. Positions 6
    // and 7, whose windows [p - 1, p + 2] reach 8, take its pooled score; 8 itself is not eligible,
    // so the third pick is the earliest of the equal rest (a symmetric window would take 6, 7, 8).
    const k = makeKeys(10, 1, 2, (p, _g, c) => (p === 8 && c === 0 ? 4 : 0));
    const state = new TokenSelectPolicy({ budget: budgetTokens(5), sinks: 1, recent: 1, kernel: 4 }).createState(shapeOf(1, 2, 16));
    appendRows(state, 0, k, 1, 2, 0, 10);
    const step = state.select(0, { position: 9, query: Float32Array.from([1, 0]), heads: 1, keys: layerKeys(k, 10, 1, 2) });
    assert.deepEqual(lists(step), [[0, 1, 6, 7, 9]]);
  });
});
