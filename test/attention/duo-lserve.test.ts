import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetTokens } from '../../src/attention/budget.js';
import { classifyHeads, DuoAttentionPolicy } from '../../src/attention/duo-attention.js';
import { LServePolicy, type LServeState } from '../../src/attention/lserve.js';
import { appendRows, decode, lists, makeKeys, shapeOf, span } from './helpers.js';

const d = 4;
const aligned = (c: number) => (c === 0 ? 1 : 0);

describe('streaming and retrieval heads (DuoAttention)', () => {
  // KV head 0's keys make its queries look back at position 3; KV head 1's at the last positions.
  const tokens = 48;
  const keys = makeKeys(tokens, 2, d, (p, g, c) => (g === 0 ? (p === 3 ? 20 * aligned(c) : 0) : p >= tokens - 3 ? 20 * aligned(c) : 0));
  const queries = makeKeys(tokens, 2, d, (_p, _h, c) => aligned(c));
  const heads = classifyHeads([{ queries, keys, heads: 2, kvHeads: 2, headDim: d }], { sinks: 1, window: 8, retrievalShare: 0.5, queryRows: 3 });

  it('classifies by distant-attention mass: the head that looks far back is the retrieval head', () => {
    assert.deepEqual(heads.retrieval, [[true, false]]);
    assert.ok(heads.distantMass[0][0] > 0.9 && heads.distantMass[0][1] < 0.05, `${heads.distantMass}`);
  });

  it('streaming heads keep sinks + window, retrieval heads everything', () => {
    const state = new DuoAttentionPolicy({ heads, sinks: 1, window: 8 }).createState(shapeOf(2, d, 64));
    appendRows(state, 0, keys, 2, d, 0, 47);
    const step = decode(state, keys, null, 47, 2, 2, d);
    assert.deepEqual(lists(step, 2), [span(0, 48), [0, ...span(40, 48)]]);
  });
});

describe('LServe', () => {
  const tokens = 40;
  // Retrieval KV head 0: its hit at position 13 (page 1 of 8-position pages, sub-page 3 of 4-position sub-pages).
  const keys = makeKeys(tokens + 8, 2, d, (p, g, c) => (g === 0 && p === 13 ? 5 * aligned(c) : 0.01 * ((p + c) % 3)));
  const heads = { retrieval: [[true, false]], distantMass: [[1, 0]] };

  it('selects pages scored by their best sub-page bound for retrieval heads; streaming heads keep sinks + window', () => {
    const state = new LServePolicy({ budget: budgetTokens(16), heads, sinks: 2, window: 6, pageSize: 8, subPageSize: 4 }).createState(shapeOf(2, d, 64)) as LServeState;
    appendRows(state, 0, keys, 2, d, 0, tokens - 1);
    const q = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
    const step = decode(state, keys, q, tokens - 1, 2, 2, d);
    assert.deepEqual(lists(step, 2), [
      [...span(8, 16), ...span(32, 40)],
      [0, 1, ...span(34, 40)],
    ]);
    const scores = state.pageScores(0, q, 2)[0];
    const sub = state.bounds.scores(0, q, 2)[0];
    assert.equal(scores[1], Math.max(sub[2], sub[3]));
  });

  it('reuses a page selection for reuseSteps decode steps', () => {
    const state = new LServePolicy({ budget: budgetTokens(16), heads, sinks: 2, window: 6, pageSize: 8, subPageSize: 4, reuseSteps: 2 }).createState(shapeOf(2, d, 64)) as LServeState;
    appendRows(state, 0, keys, 2, d, 0, tokens - 1);
    decode(state, keys, Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0]), tokens - 1, 2, 2, d);
    // The next query points elsewhere, yet the selection is reused (and the new page added).
    const reused = decode(state, keys, Float32Array.from([0, -1, 0, 0, 0, -1, 0, 0]), tokens, 2, 2, d);
    assert.deepEqual(lists(reused, 2)![0], [...span(8, 16), ...span(32, 41)]);
    assert.equal(state.reuses, 1);
    assert.equal(reused.metadataBytesRead, 0);
    decode(state, keys, Float32Array.from([0, -1, 0, 0, 0, -1, 0, 0]), tokens + 1, 2, 2, d);
    assert.equal(state.scorings, 2);
  });
});
