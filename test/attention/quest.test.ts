import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { budgetTokens } from '../../src/attention/budget.js';
import { QuestPolicy, type QuestState } from '../../src/attention/quest.js';
import { decode, lists, makeKeys, randomArray, shapeOf, span, appendRows } from './helpers.js';

const d = 4;

describe('Quest', () => {
  it('picks the page holding the key aligned with the query, plus the newest page', () => {
    const keys = makeKeys(64, 1, d, (p, _g, c) => (p === 37 && c === 0 ? 5 : 0.05 * Math.sin(p * 3 + c)));
    const state = new QuestPolicy({ budget: budgetTokens(32), denseLayers: 0 }).createState(shapeOf(1, d, 64));
    appendRows(state, 0, keys, 1, d, 0, 63);
    const step = decode(state, keys, Float32Array.from([1, 0, 0, 0]), 63, 1, 1, d);
    assert.deepEqual(lists(step), [[...span(32, 48), ...span(48, 64)]]);
    // It read every page's bounds: 4 pages x (min + max) x 4 channels x 4 bytes.
    assert.equal(step.metadataBytesRead, 4 * 2 * d * 4);
    // A query aligned the other way picks the page whose min is most negative.
    const keys2 = makeKeys(64, 1, d, (p, _g, c) => (p === 5 && c === 1 ? -5 : 0.05 * Math.cos(p + c)));
    const state2 = new QuestPolicy({ budget: budgetTokens(32), denseLayers: 0 }).createState(shapeOf(1, d, 64));
    appendRows(state2, 0, keys2, 1, d, 0, 63);
    assert.deepEqual(lists(decode(state2, keys2, Float32Array.from([0, -1, 0, 0]), 63, 1, 1, d)), [[...span(0, 16), ...span(48, 64)]]);
  });

  it('keeps the first layers dense and falls back to full when the budget covers the context', () => {
    const keys = makeKeys(40, 1, d, () => 0.1);
    const state = new QuestPolicy({ budget: budgetTokens(16) }).createState(shapeOf(1, d, 64, 3));
    for (let l = 0; l < 3; l++) appendRows(state, l, keys, 1, d, 0, 39);
    const q = Float32Array.from([1, 0, 0, 0]);
    const dense = decode(state, keys, q, 39, 1, 1, d, 1);
    assert.equal(dense.positions, null);
    assert.equal(dense.fellBackToFull, false);
    assert.notEqual(decode(state, keys, q, 39, 1, 1, d, 2).positions, null);
    const big = new QuestPolicy({ budget: budgetTokens(100), denseLayers: 0 }).createState(shapeOf(1, d, 64));
    appendRows(big, 0, keys, 1, d, 0, 39);
    const step = decode(big, keys, q, 39, 1, 1, d);
    assert.equal(step.positions, null);
    assert.equal(step.fellBackToFull, true);
  });

  it('page scores equal a brute-force computation from the raw keys, and bound every q.k', () => {
    const length = 100;
    const kvHeads = 2;
    const heads = 4;
    const headDim = 8;
    const pageSize = 16;
    const keys = randomArray(length * kvHeads * headDim, 11);
    const query = randomArray(heads * headDim, 12);
    const state = new QuestPolicy({ budget: budgetTokens(32), denseLayers: 0, pageSize }).createState(shapeOf(kvHeads, headDim, 128)) as QuestState;
    appendRows(state, 0, keys, kvHeads, headDim, 0, length);
    const scores = state.bounds.scores(0, query, heads);
    const pages = Math.ceil(length / pageSize);
    for (let g = 0; g < kvHeads; g++) {
      for (let page = 0; page < pages; page++) {
        let expected = 0;
        let best = -Infinity;
        for (let h = g * 2; h < g * 2 + 2; h++) {
          let bound = 0;
          for (let c = 0; c < headDim; c++) {
            let lo = Infinity;
            let hi = -Infinity;
            for (let p = page * pageSize; p < Math.min(length, (page + 1) * pageSize); p++) {
              const k = keys[(p * kvHeads + g) * headDim + c];
              lo = Math.min(lo, k);
              hi = Math.max(hi, k);
            }
            const q = query[h * headDim + c];
            bound += Math.max(q * lo, q * hi);
          }
          expected += bound;
          for (let p = page * pageSize; p < Math.min(length, (page + 1) * pageSize); p++) {
            let qk = 0;
            for (let c = 0; c < headDim; c++) qk += query[h * headDim + c] * keys[(p * kvHeads + g) * headDim + c];
            assert.ok(qk <= bound + 1e-6, 'the page bound must bound q.k');
            best = Math.max(best, qk);
          }
        }
        assert.ok(Math.abs(scores[g][page] - expected) <= 1e-5 * Math.max(1, Math.abs(expected)), `kv head ${g} page ${page}: ${scores[g][page]} vs ${expected}`);
        assert.ok(Number.isFinite(best));
      }
    }
  });
});
