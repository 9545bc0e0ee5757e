/**
 * Parity with code nobody here wrote: tiny random-weight models saved by HF transformers
 * (tools/fixtures/make_hf_fixtures.py, run on the GPU machine) with their f32 logits, greedy
 * continuations and perplexities. Our logits must match within 1e-4 relative, continuations
 * exactly, perplexities to 1e-4.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { generate } from '../../src/models/generate.js';
import { DecoderModel } from '../../src/models/llama.js';
import { loadModelFolder } from '../../src/models/node/model-folder.js';
import { perplexity } from '../../src/models/perplexity.js';
import type { TextTokenizer } from '../../src/io/tokenizer.js';
import { cpuBackend } from '../helpers/cpu.js';
import { relativeError } from '../helpers/numeric.js';

interface Reference {
  variant: string;
  input_ids: number[];
  logits_positions: number[];
  logits: number[][];
  greedy: { prompt_ids: number[]; continuation: number[]; min_top1_margin: number };
  perplexity: { ids: number[]; value: number };
  strided_perplexity: { ids: number[]; seq_len: number; stride: number; value: number; tokens: number };
  tokenizer_check: { text: string; ids: number[] };
}

// dist/test/models -> test/fixtures/hf in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/hf/', import.meta.url));
const variants = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'reference.json'))).sort() : [];

before(async () => {
  await cpuBackend();
});

describe('HF transformers parity', () => {
  it('has fixtures for every architecture and variant', () => {
    assert.deepEqual(variants, ['llama-bf16', 'llama-gqa-llama3rope', 'llama-mha', 'llama-tied-bias', 'mistral-window', 'qwen2']);
  });

  for (const variant of variants) {
    describe(variant, () => {
      let model: DecoderModel;
      let tokenizer: TextTokenizer | null;
      let ref: Reference;
      before(async () => {
        ref = JSON.parse(readFileSync(join(FIXTURES, variant, 'reference.json'), 'utf8')) as Reference;
        const loaded = await loadModelFolder(join(FIXTURES, variant));
        model = new DecoderModel(loaded.config, loaded.weights);
        tokenizer = loaded.tokenizer;
      });

      it('tokenizes as HF tokenizers does', () => {
        assert.deepEqual(tokenizer?.encode(ref.tokenizer_check.text, { addSpecialTokens: false }), ref.tokenizer_check.ids);
      });

      it('gives the HF logits within 1e-4', () => {
        const ids = ref.input_ids;
        const cache = model.createCache(ids.length);
        const logits = model.forward([{ tokens: ids, cache }], { allLogits: true });
        const all = logits.readSync() as Float32Array;
        logits.dispose();
        cache.dispose();
        const V = model.config.vocabSize;
        ref.logits_positions.forEach((p, i) => {
          const err = relativeError(all.subarray(p * V, (p + 1) * V), ref.logits[i]);
          assert.ok(err <= 1e-4, `position ${p}: relative error ${err.toExponential(2)}`);
        });
      });

      it('continues greedily with the HF tokens', async () => {
        // The reference ran HF generate with min_new_tokens = max_new_tokens: eos is masked throughout.
        const n = ref.greedy.continuation.length;
        const result = await generate(model, [ref.greedy.prompt_ids], { maxNewTokens: n, minNewTokens: n });
        assert.deepEqual(result.tokens[0], ref.greedy.continuation);
      });

      it('gives the HF perplexity, whole and strided', async () => {
        const whole = await perplexity(model, ref.perplexity.ids, { seqLen: ref.perplexity.ids.length, stride: ref.perplexity.ids.length });
        assert.ok(Math.abs(whole.perplexity / ref.perplexity.value - 1) <= 1e-4, `perplexity ${whole.perplexity} vs HF ${ref.perplexity.value}`);
        const s = ref.strided_perplexity;
        const strided = await perplexity(model, s.ids, { seqLen: s.seq_len, stride: s.stride });
        assert.equal(strided.tokens, s.tokens);
        assert.ok(Math.abs(strided.perplexity / s.value - 1) <= 1e-4, `strided perplexity ${strided.perplexity} vs HF ${s.value}`);
      });
    });
  }
});
