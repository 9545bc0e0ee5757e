import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import { TextTokenizer } from '../../src/io/tokenizer.js';
import { byteLevelDecode, byteLevelEncode, splitText, tokenizeCorpus } from '../../src/data/text.js';
import { sequentialTokenBatches, sequentialWindowCount, TokenBatchSampler, type TokenBatch } from '../../src/data/token-windows.js';
import { tinyId, tinyTokenizerJson } from '../io/tiny-tokenizer.js';
import { assertDataError } from './helpers.js';

describe('byte-level tokenization', () => {
  it('uses the UTF-8 bytes as ids', () => {
    assert.deepEqual([...byteLevelEncode('aé€')], [0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac]);
    assert.equal(byteLevelDecode(byteLevelEncode('héllo\n')), 'héllo\n');
  });

  it('decodes a cut character as U+FFFD and refuses ids above 255', () => {
    assert.equal(byteLevelDecode([0x61, 0xc3]), 'a\uFFFD');
    assert.throws(() => byteLevelDecode([256]), ArgumentError);
  });
});

describe('splitText', () => {
  it('cuts at floor(0.9 * characters), as the training script does', () => {
    assert.deepEqual(splitText('0123456789'), { train: '012345678', heldOut: '9' });
    const text = 'x'.repeat(1115394); // tinyshakespeare's length: int(0.9 * 1115394) = 1003854
    assert.equal(splitText(text).train.length, 1003854);
    assert.deepEqual(splitText('abcd', 0.5), { train: 'ab', heldOut: 'cd' });
  });

  it('counts code points, never cutting a surrogate pair', () => {
    // 10 code points, 13 UTF-16 units: Python's len is 10, so the cut falls after the 9th code point.
    const text = 'a😀b😀c😀defg';
    const { train, heldOut } = splitText(text);
    assert.equal(train, 'a😀b😀c😀def');
    assert.equal(heldOut, 'g');
    assert.equal(splitText('😀😀', 0.5).train, '😀');
  });

  it('refuses fractions outside (0, 1)', () => {
    assert.throws(() => splitText('abc', 1), ArgumentError);
    assert.throws(() => splitText('abc', 0), ArgumentError);
  });
});

describe('tokenizeCorpus', () => {
  it('is byte-level by default', () => {
    const corpus = tokenizeCorpus('hello world', { trainFraction: 0.5 });
    assert.equal(corpus.vocabSize, 256);
    assert.deepEqual([...corpus.train], [...byteLevelEncode('hello')]);
    assert.deepEqual([...corpus.heldOut], [...byteLevelEncode(' world')]);
  });

  it('tokenizes each part with a tokenizer.json tokenizer, without special tokens', () => {
    const tokenizer = TextTokenizer.fromJson(tinyTokenizerJson());
    const corpus = tokenizeCorpus('hello world', { tokenizer, trainFraction: 0.5 });
    assert.equal(corpus.vocabSize, tokenizer.vocabSize);
    assert.deepEqual([...corpus.train], [tinyId('▁hello')]);
    assert.ok(!corpus.heldOut.includes(1), 'no BOS');
    assert.deepEqual([...corpus.heldOut], tokenizer.encode(' world', { addSpecialTokens: false }));
  });
});

/** A stream whose tokens are all different, so a shifted or misplaced window cannot pass. */
const stream = (length: number) => Int32Array.from({ length }, (_, i) => 1000 + i * 7);

function assertWindowsOf(ids: Int32Array, batch: TokenBatch): void {
  const T = batch.seqLen;
  assert.equal(batch.inputs.length, batch.batchSize * T);
  assert.equal(batch.targets.length, batch.batchSize * T);
  for (let b = 0; b < batch.batchSize; b++) {
    const start = batch.starts[b];
    assert.ok(start >= 0 && start + T + 1 <= ids.length, `start ${start}`);
    for (let t = 0; t < T; t++) {
      assert.equal(batch.inputs[b * T + t], ids[start + t]);
      assert.equal(batch.targets[b * T + t], ids[start + t + 1]);
      if (t + 1 < T) assert.equal(batch.targets[b * T + t], batch.inputs[b * T + t + 1], 'targets are the inputs shifted by one');
    }
  }
}

describe('TokenBatchSampler', () => {
  it('samples B windows of T + 1 tokens, targets shifted by one', () => {
    const ids = stream(100);
    const sampler = new TokenBatchSampler(ids, { batchSize: 4, seqLen: 8, seed: 1 });
    for (let i = 0; i < 20; i++) assertWindowsOf(ids, sampler.next());
  });

  it('is seeded', () => {
    const draw = (seed: number) => {
      const sampler = new TokenBatchSampler(Array.from(stream(200)), { batchSize: 3, seqLen: 5, seed });
      return [0, 1, 2].map(() => [...sampler.next().starts]);
    };
    assert.deepEqual(draw(5), draw(5));
    assert.notDeepEqual(draw(5), draw(6));
  });

  it('draws every start from the first to the last that fits', () => {
    const ids = stream(13); // T = 10: starts 0, 1, 2
    const sampler = new TokenBatchSampler(ids, { batchSize: 10, seqLen: 10, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 20; i++) for (const start of sampler.next().starts) seen.add(start);
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
    const exact = new TokenBatchSampler(stream(11), { batchSize: 2, seqLen: 10, seed: 3 });
    assert.deepEqual([...exact.next().starts], [0, 0]);
  });

  it('refuses a stream shorter than one window, and bad ids or sizes', async () => {
    await assertDataError(() => new TokenBatchSampler(stream(10), { batchSize: 1, seqLen: 10, seed: 0 }), 'token stream', /shorter than one window: 10 token\(s\), a window of seqLen 10 reads 11/);
    await assertDataError(() => new TokenBatchSampler(stream(3), { batchSize: 1, seqLen: 8, seed: 0, source: 'held-out split' }), 'held-out split', /shorter than one window/);
    await assertDataError(() => new TokenBatchSampler([1, 2, -3, 4], { batchSize: 1, seqLen: 2, seed: 0 }), 'token stream', /token 2 is -3/);
    await assertDataError(() => new TokenBatchSampler([1, 2.5, 3, 4], { batchSize: 1, seqLen: 2, seed: 0 }), 'token stream', /token 1 is 2.5/);
    assert.throws(() => new TokenBatchSampler(stream(10), { batchSize: 0, seqLen: 2, seed: 0 }), ArgumentError);
    assert.throws(() => new TokenBatchSampler(stream(10), { batchSize: 1, seqLen: 0, seed: 0 }), ArgumentError);
  });
});

describe('sequentialTokenBatches', () => {
  it('walks the stream so that every token but the first is a target exactly once', () => {
    const ids = stream(25); // T = 4: windows start 0, 4, ..., 20 (6 windows); token 24 is the last target
    const batches = [...sequentialTokenBatches(ids, { batchSize: 4, seqLen: 4 })];
    assert.deepEqual(batches.map((b) => b.batchSize), [4, 2]);
    assert.deepEqual(batches.flatMap((b) => [...b.starts]), [0, 4, 8, 12, 16, 20]);
    for (const batch of batches) assertWindowsOf(ids, batch);
    assert.deepEqual(batches.flatMap((b) => [...b.targets]), [...ids.subarray(1)]);
  });

  it('leaves out a tail shorter than a window', () => {
    assert.equal(sequentialWindowCount(27, 4), 6);
    const batches = [...sequentialTokenBatches(stream(27), { batchSize: 10, seqLen: 4 })];
    assert.equal(batches.length, 1);
    assert.equal(batches[0].batchSize, 6);
  });

  it('refuses a stream shorter than one window', async () => {
    // At the call, before iterating.
    await assertDataError(() => sequentialTokenBatches(stream(4), { batchSize: 1, seqLen: 4 }), 'token stream', /shorter than one window/);
  });
});
