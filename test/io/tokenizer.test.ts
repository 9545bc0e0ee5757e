/** TextTokenizer over a tiny hand-written Llama-style tokenizer.json: round trips, special tokens, streaming decode, file errors. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SparsekitError } from '../../src/core/errors.js';
import { loadTokenizer, loadTokenizerIfPresent } from '../../src/io/node/tokenizer-file.js';
import { TextTokenizer } from '../../src/io/tokenizer.js';
import { tinyId, tinyTokenizerConfig, tinyTokenizerJson } from './tiny-tokenizer.js';
import { makeTempDir } from './helpers.js';

const tokenizer = TextTokenizer.fromJson(tinyTokenizerJson(), tinyTokenizerConfig());

/** Pushes ids one at a time and returns every piece of text the stream decoder emits. */
function stream(ids: number[], skipSpecialTokens = false): string[] {
  const decoder = tokenizer.streamDecoder({ skipSpecialTokens });
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  return pieces;
}

describe('TextTokenizer', () => {
  it('encodes with merges and the BOS the post-processor adds, and without it on request', () => {
    assert.deepEqual(tokenizer.encode('hello world'), [1, tinyId('▁hello'), tinyId('▁world')]);
    assert.deepEqual(tokenizer.encode('hello world', { addSpecialTokens: false }), [tinyId('▁hello'), tinyId('▁world')]);
  });

  it('falls back to byte tokens for characters outside the vocabulary', () => {
    // "é" is C3 A9 in UTF-8: byte tokens <0xC3> <0xA9> (ids 3 + byte).
    assert.deepEqual(tokenizer.encode('hé', { addSpecialTokens: false }), [tinyId('▁h'), 3 + 0xc3, 3 + 0xa9]);
  });

  it('round-trips text, multi-byte characters included', () => {
    for (const text of ['hello world', 'hello wörld 🙂!', 'the end', '  two spaces']) {
      const ids = tokenizer.encode(text);
      assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), text);
    }
  });

  it('keeps special tokens in decoded text unless asked to skip them', () => {
    const ids = [...tokenizer.encode('hello'), 2];
    assert.equal(tokenizer.decode(ids), '<s> hello</s>');
    assert.equal(tokenizer.decode(ids, { skipSpecialTokens: true }), 'hello');
    assert.equal(tokenizer.decode([]), '');
  });

  it('reads vocabSize and the special tokens (plain and AddedToken forms) from the config', () => {
    assert.equal(tokenizer.vocabSize, 3 + 256 + 18);
    assert.equal(tokenizer.bosTokenId, 1);
    assert.deepEqual(tokenizer.eosTokenIds, [2]);
    assert.deepEqual([...tokenizer.specialTokenIds].sort(), [0, 1, 2]);
    assert.equal(tokenizer.idToToken(tinyId('▁world')), '▁world');
    assert.equal(tokenizer.tokenToId('▁hello'), tinyId('▁hello'));
    const bare = TextTokenizer.fromJson(tinyTokenizerJson());
    assert.equal(bare.bosTokenId, null);
    assert.deepEqual(bare.eosTokenIds, []);
  });

  it('decodes ids the tokenizer does not know to nothing (padded model vocabularies), and refuses negative ids', () => {
    assert.equal(tokenizer.decode([tinyId('▁hello'), 5000, tinyId('▁world')]), 'hello world');
    assert.equal(tokenizer.decode([1], { skipSpecialTokens: true }), '');
    assert.throws(() => tokenizer.decode([-1]), /cannot decode token id -1/);
  });

  it('streams text token by token, holding back a character until all its bytes arrived', () => {
    const ids = tokenizer.encode('hello wörld 🙂!');
    const pieces = stream(ids, true);
    assert.equal(pieces.join(''), 'hello wörld 🙂!');
    assert.ok(pieces.every((p) => !p.includes('\uFFFD')), `no piece holds a broken character: ${JSON.stringify(pieces)}`);
    // The 4 byte tokens of 🙂: nothing for the first three, the whole emoji with the fourth.
    const emoji = ids.indexOf(3 + 0xf0);
    assert.deepEqual(pieces.slice(emoji, emoji + 4), ['', '', '', '🙂']);
    // A SentencePiece space inside the text comes out as a space.
    assert.equal(pieces[ids.indexOf(tinyId('▁w'))], ' w');
  });

  it('streams with special tokens kept, and matches a whole decode', () => {
    const ids = [...tokenizer.encode(' hello world'), 2];
    assert.equal(stream(ids).join(''), tokenizer.decode(ids));
  });

  it('flushes an incomplete character at the end as a full decode shows it', () => {
    const pieces = stream([tinyId('▁hello'), 3 + 0xf0, 3 + 0x9f]);
    assert.equal(pieces.join(''), tokenizer.decode([tinyId('▁hello'), 3 + 0xf0, 3 + 0x9f]));
    assert.equal(pieces[pieces.length - 1].includes('\uFFFD'), true);
  });

  it('decodeIncrement works statelessly from offsets', () => {
    const ids = tokenizer.encode('hello world', { addSpecialTokens: false });
    let state = { prefixOffset: 0, readOffset: 0 };
    let text = '';
    for (let n = 1; n <= ids.length; n++) {
      const step = tokenizer.decodeIncrement(ids.slice(0, n), state);
      text += step.text;
      state = step;
    }
    assert.equal(text, 'hello world');
  });

  it('refuses a tokenizer.json without a model', () => {
    assert.throws(() => TextTokenizer.fromJson({ added_tokens: [] }, {}, 'x/tokenizer.json'), (e: unknown) => e instanceof SparsekitError && e.code === 'E_TOKENIZER' && /x\/tokenizer\.json: has no "model"/.test(e.message));
    assert.throws(() => TextTokenizer.fromJson({ model: { type: 'Nonsense' } }), /cannot build the tokenizer/);
  });
});

describe('loadTokenizer', () => {
  let dir: string;
  let remove: () => Promise<void>;
  before(async () => {
    ({ dir, remove } = await makeTempDir('tokenizer'));
  });
  after(() => remove());

  it('loads tokenizer.json and tokenizer_config.json from a folder', async () => {
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tinyTokenizerConfig()));
    const t = await loadTokenizer(dir);
    assert.deepEqual(t.encode('hello'), [1, tinyId('▁hello')]);
    assert.deepEqual(t.eosTokenIds, [2]);
  });

  it('says which file is missing or not JSON', async () => {
    const empty = join(dir, 'empty');
    await assert.rejects(loadTokenizer(empty), (e: unknown) => e instanceof SparsekitError && e.code === 'E_TOKENIZER' && e.message.startsWith(join(empty, 'tokenizer.json')) && /no such file/.test(e.message));
    assert.equal(await loadTokenizerIfPresent(empty), null);
    await writeFile(join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(dir), /tokenizer\.json: not valid JSON/);
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
    await writeFile(join(dir, 'tokenizer_config.json'), '[');
    await assert.rejects(loadTokenizer(dir), /tokenizer_config\.json: not valid JSON/);
  });
});
