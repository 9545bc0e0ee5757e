import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetFraction, budgetTokens } from '../../src/attention/budget.js';
import { H2oPolicy, type H2oState } from '../../src/attention/h2o.js';
import { StreamingLlmPolicy } from '../../src/attention/streaming-llm.js';
import { decode, lists, makeKeys, prefill, shapeOf, span } from './helpers.js';

describe('StreamingLLM', () => {
  it('keeps exactly the sinks and the recent window', () => {
    const policy = new StreamingLlmPolicy({ budget: budgetTokens(8), sinks: 2 });
    const state = policy.createState(shapeOf(1, 4, 64));
    const keys = makeKeys(21, 1, 4, () => 0);
    prefill(state, keys, null, 20, 1, 1, 4);
    assert.deepEqual(lists({ positions: state.kept(0) }), [[0, 1, ...span(14, 20)]]);
    const step = decode(state, keys, null, 20, 1, 1, 4);
    assert.deepEqual(lists(step), [[0, 1, ...span(15, 21)]]);
    assert.equal(step.fellBackToFull, false);
  });

  it('falls back to full, and says so, when the budget covers the context', () => {
    const policy = new StreamingLlmPolicy({ budget: budgetTokens(64), sinks: 4 });
    const state = policy.createState(shapeOf(1, 4, 64));
    const keys = makeKeys(21, 1, 4, () => 0);
    prefill(state, keys, null, 20, 1, 1, 4);
    const step = decode(state, keys, null, 20, 1, 1, 4);
    assert.equal(step.positions, null);
    assert.equal(step.fellBackToFull, true);
  });

  it('resolves a fractional budget once, against the prompt', () => {
    const policy = new StreamingLlmPolicy({ budget: budgetFraction(0.25), sinks: 1 });
    const state = policy.createState(shapeOf(1, 4, 64));
    const keys = makeKeys(41, 1, 4, () => 0);
    prefill(state, keys, null, 40, 1, 1, 4);
    assert.deepEqual(lists(decode(state, keys, null, 40, 1, 1, 4)), [[0, ...span(32, 41)]]);
  });
});

describe('H2O', () => {
  // Positions 2, 7 and 11 hold keys every query aligns with: they collect the attention.
  const hot = new Set([2, 7, 11]);
  const d = 4;
  const keys = makeKeys(24, 1, d, (p, _g, c) => (hot.has(p) && c === 0 ? 6 : 0));
  const queries = makeKeys(24, 1, d, (_p, _g, c) => (c === 0 ? 1 : 0));

  it('keeps the accumulated heavy hitters plus the recent window after prefill', () => {
    const state = new H2oPolicy({ budget: budgetTokens(6) }).createState(shapeOf(1, d, 32)) as H2oState;
    prefill(state, keys, queries.subarray(0, 20 * d), 20, 1, 1, d);
    assert.deepEqual(lists({ positions: state.kept(0) }), [[2, 7, 11, 17, 18, 19]]);
    // Position 2 is seen by more queries than 7, and 7 than 11.
    const s = state.scores[0][0];
    assert.ok(s[2] > s[7] && s[7] > s[11] && s[11] > s[16]);
  });

  it('attends to the kept set plus the new position, then evicts back to the budget', () => {
    const state = new H2oPolicy({ budget: budgetTokens(6) }).createState(shapeOf(1, d, 32)) as H2oState;
    prefill(state, keys, queries.subarray(0, 20 * d), 20, 1, 1, d);
    const step = decode(state, keys, queries.subarray(20 * d, 21 * d), 20, 1, 1, d);
    assert.deepEqual(lists(step), [[2, 7, 11, 17, 18, 19, 20]]);
    assert.deepEqual(lists({ positions: state.kept(0) }), [[2, 7, 11, 18, 19, 20]]);
  });

  it('needs the queries', () => {
    const state = new H2oPolicy({ budget: budgetTokens(6) }).createState(shapeOf(1, d, 32));
    assert.throws(() => prefill(state, keys, null, 20, 1, 1, d), /h2o needs the prompt queries/);
  });
});
