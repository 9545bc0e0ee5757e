/** config.json -> DecoderConfig for Llama, Qwen2 and Mistral, their variants, and every error. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SparsekitError } from '../../src/core/errors.js';
import { parseDecoderConfig } from '../../src/models/config.js';

const FILE = '/models/x/config.json';

/** Llama 2 7B's config.json, shrunk (fields and values as HF writes them). */
function llama(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: 64,
    intermediate_size: 172,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    vocab_size: 100,
    max_position_embeddings: 256,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float16',
    ...over,
  };
}

/** Qwen2.5-0.5B-Instruct's config.json, shrunk. */
function qwen2(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: 56,
    intermediate_size: 96,
    num_hidden_layers: 3,
    num_attention_heads: 7,
    num_key_value_heads: 1,
    vocab_size: 300,
    max_position_embeddings: 32768,
    max_window_layers: 21,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: 32768,
    use_sliding_window: false,
    tie_word_embeddings: true,
    bos_token_id: 151643,
    eos_token_id: 151645,
    ...over,
  };
}

/** Mistral 7B v0.1's config.json, shrunk. */
function mistral(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    architectures: ['MistralForCausalLM'],
    model_type: 'mistral',
    hidden_size: 64,
    intermediate_size: 224,
    num_hidden_layers: 2,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    vocab_size: 128,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    sliding_window: 4096,
    tie_word_embeddings: false,
    ...over,
  };
}

function assertConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SparsekitError, `expected a SparsekitError, got ${String(error)}`);
    assert.equal(error.code, 'E_CONFIG');
    assert.ok(error.message.startsWith(`${FILE}: `), `message should start with the file: ${error.message}`);
    for (const p of patterns) assert.match(error.message, p);
    return true;
  });
}

describe('parseDecoderConfig: Llama', () => {
  it('reads a multi-head Llama 2 config with its defaults', () => {
    const c = parseDecoderConfig(llama(), FILE);
    assert.deepEqual(c, {
      architecture: 'LlamaForCausalLM',
      hiddenSize: 64,
      intermediateSize: 172,
      numLayers: 2,
      numHeads: 4,
      numKvHeads: 4,
      headDim: 16,
      vocabSize: 100,
      maxPositions: 256,
      rmsNormEps: 1e-5,
      rope: { dim: 16, theta: 10000, scaling: null },
      tieWordEmbeddings: false,
      attentionBias: false,
      outputBias: false,
      mlpBias: false,
      slidingWindow: null,
      bosTokenId: 1,
      eosTokenIds: [2],
      layerShapes: null,
    });
  });

  it('reads grouped-query attention and an explicit head_dim that differs from hidden / heads', () => {
    const c = parseDecoderConfig(llama({ num_key_value_heads: 2, head_dim: 32 }), FILE);
    assert.equal(c.numKvHeads, 2);
    assert.equal(c.headDim, 32);
    assert.equal(c.rope.dim, 32);
  });

  it('treats head_dim: null and num_key_value_heads: null as absent', () => {
    const c = parseDecoderConfig(llama({ head_dim: null, num_key_value_heads: null }), FILE);
    assert.equal(c.headDim, 16);
    assert.equal(c.numKvHeads, 4);
  });

  it('reads Llama 3.1 rope scaling (rope_type llama3) with its values', () => {
    const c = parseDecoderConfig(
      llama({
        rope_theta: 500000.0,
        rope_scaling: { factor: 8.0, low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
        eos_token_id: [128001, 128008, 128009],
      }),
      FILE,
    );
    assert.deepEqual(c.rope, {
      dim: 16,
      theta: 500000,
      scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
    });
    assert.deepEqual(c.eosTokenIds, [128001, 128008, 128009]);
  });

  it('reads linear scaling under the older "type" key, and "default" as no scaling', () => {
    assert.deepEqual(parseDecoderConfig(llama({ rope_scaling: { type: 'linear', factor: 2 } }), FILE).rope.scaling, { type: 'linear', factor: 2 });
    assert.equal(parseDecoderConfig(llama({ rope_scaling: { rope_type: 'default' } }), FILE).rope.scaling, null);
    assert.equal(parseDecoderConfig(llama({ rope_scaling: null }), FILE).rope.scaling, null);
  });

  it('gives q, k, v and o biases with attention_bias, and MLP biases with mlp_bias', () => {
    const c = parseDecoderConfig(llama({ attention_bias: true, mlp_bias: true, tie_word_embeddings: true }), FILE);
    assert.equal(c.attentionBias, true);
    assert.equal(c.outputBias, true);
    assert.equal(c.mlpBias, true);
    assert.equal(c.tieWordEmbeddings, true);
  });

  it('falls back to model_type when architectures is absent', () => {
    const json = llama();
    delete json.architectures;
    assert.equal(parseDecoderConfig(json, FILE).architecture, 'LlamaForCausalLM');
    assert.equal(parseDecoderConfig({ ...mistral(), architectures: [] , model_type: 'mistral' }, FILE).architecture, 'MistralForCausalLM');
  });

  it('takes bos and eos from generation_config.json over config.json', () => {
    const c = parseDecoderConfig(llama(), FILE, { bos_token_id: 5, eos_token_id: [7, 8, 7] });
    assert.equal(c.bosTokenId, 5);
    assert.deepEqual(c.eosTokenIds, [7, 8]);
    const onlyEos = parseDecoderConfig(llama(), FILE, { eos_token_id: 9 });
    assert.equal(onlyEos.bosTokenId, 1);
    assert.deepEqual(onlyEos.eosTokenIds, [9]);
    const none = parseDecoderConfig(llama({ bos_token_id: null, eos_token_id: undefined }), FILE);
    assert.equal(none.bosTokenId, null);
    assert.deepEqual(none.eosTokenIds, []);
  });
});

describe('parseDecoderConfig: Qwen2', () => {
  it('gives q/k/v biases but no o or MLP bias, tied embeddings, and no window without use_sliding_window', () => {
    const c = parseDecoderConfig(qwen2({ attention_bias: false, mlp_bias: true }), FILE);
    assert.equal(c.architecture, 'Qwen2ForCausalLM');
    assert.equal(c.attentionBias, true);
    assert.equal(c.outputBias, false);
    assert.equal(c.mlpBias, false);
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.slidingWindow, null);
    assert.equal(c.numKvHeads, 1);
    assert.equal(c.headDim, 8);
    assert.equal(c.rope.theta, 1e6);
  });

  it('uses the window only with use_sliding_window, and only when every layer has it', () => {
    assert.equal(parseDecoderConfig(qwen2({ use_sliding_window: true, sliding_window: 64, max_window_layers: 0 }), FILE).slidingWindow, 64);
    assert.equal(parseDecoderConfig(qwen2({ use_sliding_window: true, sliding_window: 64, max_window_layers: 3 }), FILE).slidingWindow, null);
    assert.equal(parseDecoderConfig(qwen2({ use_sliding_window: true, sliding_window: 64, layer_types: ['sliding_attention', 'sliding_attention', 'sliding_attention'] }), FILE).slidingWindow, 64);
    assertConfigError(() => parseDecoderConfig(qwen2({ use_sliding_window: true, sliding_window: 64, max_window_layers: 1 }), FILE), /only some layers \(2 of 3\)/);
  });
});

describe('parseDecoderConfig: Mistral', () => {
  it('reads the sliding window, null as none, and MistralConfig\'s 4096 when absent', () => {
    const c = parseDecoderConfig(mistral(), FILE);
    assert.equal(c.architecture, 'MistralForCausalLM');
    assert.equal(c.slidingWindow, 4096);
    assert.equal(c.attentionBias, false);
    assert.equal(c.outputBias, false);
    assert.equal(c.numKvHeads, 2);
    assert.equal(parseDecoderConfig(mistral({ sliding_window: null }), FILE).slidingWindow, null);
    const json = mistral();
    delete json.sliding_window;
    assert.equal(parseDecoderConfig(json, FILE).slidingWindow, 4096);
  });
});

describe('parseDecoderConfig: errors', () => {
  it('refuses an unsupported architecture, naming it and listing the supported ones', () => {
    assertConfigError(
      () => parseDecoderConfig({ ...llama(), architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }, FILE),
      /"GPT2LMHeadModel" is not supported/,
      /LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM/,
    );
    const json = llama({ model_type: 'phi3' });
    delete json.architectures;
    assertConfigError(() => parseDecoderConfig(json, FILE), /model_type "phi3" is not supported/, /"llama", "qwen2", "mistral"/);
    delete json.model_type;
    assertConfigError(() => parseDecoderConfig(json, FILE), /names no architecture/);
  });

  it('refuses an unsupported rope scaling type, naming it and listing the supported ones', () => {
    assertConfigError(
      () => parseDecoderConfig(llama({ rope_scaling: { rope_type: 'yarn', factor: 4 } }), FILE),
      /rope_scaling type "yarn" is not supported/,
      /"default", "linear", "llama3"/,
    );
    assertConfigError(() => parseDecoderConfig(llama({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } }), FILE), /"rope_scaling.original_max_position_embeddings"/);
    assertConfigError(() => parseDecoderConfig(llama({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 8192 } }), FILE), /high_freq_factor/);
    assertConfigError(() => parseDecoderConfig(llama({ rope_scaling: { factor: 2 } }), FILE), /no "rope_type"/);
  });

  it('names a missing required field', () => {
    for (const field of ['hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'vocab_size', 'max_position_embeddings', 'rms_norm_eps']) {
      const json = llama();
      delete json[field];
      assertConfigError(() => parseDecoderConfig(json, FILE), new RegExp(`missing required field "${field}"`));
    }
  });

  it('names a field of the wrong type or range', () => {
    assertConfigError(() => parseDecoderConfig(llama({ hidden_size: 64.5 }), FILE), /hidden_size must be a positive integer, got 64.5/);
    assertConfigError(() => parseDecoderConfig(llama({ num_hidden_layers: 0 }), FILE), /num_hidden_layers must be a positive integer/);
    assertConfigError(() => parseDecoderConfig(llama({ vocab_size: '100' }), FILE), /vocab_size must be a positive integer, got "100"/);
    assertConfigError(() => parseDecoderConfig(llama({ rms_norm_eps: -1 }), FILE), /rms_norm_eps must be a positive number/);
    assertConfigError(() => parseDecoderConfig(llama({ tie_word_embeddings: 'yes' }), FILE), /tie_word_embeddings must be true or false/);
    assertConfigError(() => parseDecoderConfig(llama({ eos_token_id: [2, -1] }), FILE), /eos_token_id must be a non-negative integer/);
    assertConfigError(() => parseDecoderConfig(llama({ hidden_act: 'gelu' }), FILE), /hidden_act "gelu" is not supported/);
    assertConfigError(() => parseDecoderConfig([1, 2], FILE), /expected a JSON object/);
  });

  it('checks that the attention shapes agree', () => {
    assertConfigError(() => parseDecoderConfig(llama({ num_key_value_heads: 3 }), FILE), /num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
    assertConfigError(() => parseDecoderConfig(llama({ num_attention_heads: 5 }), FILE), /hidden_size 64 is not divisible by num_attention_heads 5/);
    assertConfigError(() => parseDecoderConfig(llama({ head_dim: 15 }), FILE), /head dimension 15 is odd/);
  });

  it('names generation_config.json when it is the file at fault', () => {
    assert.throws(() => parseDecoderConfig(llama(), FILE, { eos_token_id: 'x' }), /^ModelError: \/models\/x\/generation_config\.json: eos_token_id/);
  });
});
