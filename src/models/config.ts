/**
 * Hugging Face config.json (+ generation_config.json) -> DecoderConfig, for the Llama-family
 * architectures sparsekit runs. Field names and defaults follow transformers' LlamaConfig,
 * Qwen2Config and MistralConfig; what the three differ in (biases, sliding windows) is decided
 * here once, so the forward pass only reads DecoderConfig. Browser-safe.
 */
import type { RopeConfig } from '../core/rope.js';
import { type DecoderArchitecture, type DecoderConfig, type LayerShape, SUPPORTED_ARCHITECTURES } from './decoder-config.js';
import { ModelError } from './model-error.js';

/** HF `model_type` of each architecture, used when `architectures` is absent. */
export const MODEL_TYPE_ARCHITECTURE: Readonly<Record<string, DecoderArchitecture>> = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  mistral: 'MistralForCausalLM',
};

/** RoPE scaling types understood (HF `rope_scaling.rope_type`, or `type` in older configs). */
export const SUPPORTED_ROPE_SCALING = ['default', 'linear', 'llama3'] as const;

/** Activations the Llama-family MLP may name (SiLU; HF also accepts the alias "swish"). */
const SILU_NAMES = ['silu', 'swish'];

/** MistralConfig's default window when config.json does not say (null there means none). */
const MISTRAL_DEFAULT_SLIDING_WINDOW = 4096;
/** Qwen2Config's defaults for the window and the first layer that uses it. */
const QWEN2_DEFAULT_SLIDING_WINDOW = 4096;
const QWEN2_DEFAULT_MAX_WINDOW_LAYERS = 28;

type Json = Record<string, unknown>;

/**
 * Reads a config.json object (`source` names the file in errors). `generationConfig`, the parsed
 * generation_config.json when there is one, overrides bos/eos as transformers' generate() does.
 * Throws ModelError (code E_CONFIG) naming the file and field for anything missing, mistyped,
 * inconsistent or unsupported.
 */
export function parseDecoderConfig(json: unknown, source: string, generationConfig?: unknown): DecoderConfig {
  const fail = (detail: string): never => {
    throw new ModelError(`${source}: ${detail}`, { code: 'E_CONFIG' });
  };
  if (!isObject(json)) fail(`expected a JSON object, got ${describe(json)}`);
  const c = json as Json;
  const architecture = architectureOf(c, fail);
  const field = new Fields(c, fail);

  const hiddenSize = field.positiveInt('hidden_size');
  const intermediateSize = field.positiveInt('intermediate_size');
  const numLayers = field.positiveInt('num_hidden_layers');
  const numHeads = field.positiveInt('num_attention_heads');
  const numKvHeads = field.positiveInt('num_key_value_heads', numHeads);
  const vocabSize = field.positiveInt('vocab_size');
  const maxPositions = field.positiveInt('max_position_embeddings');
  const rmsNormEps = field.positiveNumber('rms_norm_eps');
  // transformers 5 writes `rope_parameters` ({ rope_theta, rope_type, scaling fields }); earlier
  // versions `rope_theta` and `rope_scaling` at the top level. Read whichever the file has.
  const ropeParameters = isObject(c.rope_parameters) ? (c.rope_parameters as Json) : null;
  const ropeTheta = ropeParameters
    ? new Fields(ropeParameters, fail, 'rope_parameters.').positiveNumber('rope_theta', typeof c.rope_theta === 'number' ? c.rope_theta : 10000)
    : field.positiveNumber('rope_theta', 10000);

  const explicitHeadDim = c.head_dim !== undefined && c.head_dim !== null;
  let headDim: number;
  if (explicitHeadDim) headDim = field.positiveInt('head_dim');
  else {
    if (hiddenSize % numHeads !== 0) {
      fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads}, and no head_dim is given`);
    }
    headDim = hiddenSize / numHeads;
  }
  if (numHeads % numKvHeads !== 0) {
    fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads} (grouped-query attention shares each KV head among a whole number of query heads)`);
  }
  if (headDim % 2 !== 0) fail(`the head dimension ${headDim} is odd; rotary embeddings rotate pairs of dimensions`);

  const act = c.hidden_act;
  if (act !== undefined && act !== null && !(typeof act === 'string' && SILU_NAMES.includes(act))) {
    fail(`hidden_act ${JSON.stringify(act)} is not supported; ${architecture} MLPs use "silu"`);
  }

  const rope: RopeConfig = {
    dim: headDim,
    theta: ropeTheta,
    scaling: ropeParameters ? ropeScaling(ropeParameters, fail, 'rope_parameters') : ropeScaling(c.rope_scaling, fail, 'rope_scaling'),
  };
  const tieWordEmbeddings = field.boolean('tie_word_embeddings', false);

  let attentionBias = false;
  let outputBias = false;
  let mlpBias = false;
  let slidingWindow: number | null = null;
  switch (architecture) {
    case 'LlamaForCausalLM':
      attentionBias = outputBias = field.boolean('attention_bias', false);
      mlpBias = field.boolean('mlp_bias', false);
      break;
    case 'Qwen2ForCausalLM':
      // Qwen2Attention: q/k/v always carry biases, o_proj never; the MLP has none.
      attentionBias = true;
      slidingWindow = qwen2SlidingWindow(c, field, numLayers, fail);
      break;
    case 'MistralForCausalLM':
      slidingWindow = c.sliding_window === null ? null : field.positiveInt('sliding_window', MISTRAL_DEFAULT_SLIDING_WINDOW);
      break;
  }

  const tokens = specialTokens(c, generationConfig, source, fail);
  const layerShapes = layerShapesOf(c, numLayers, fail);
  return {
    architecture,
    hiddenSize,
    intermediateSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    vocabSize,
    maxPositions,
    rmsNormEps,
    rope,
    tieWordEmbeddings,
    attentionBias,
    outputBias,
    mlpBias,
    slidingWindow,
    bosTokenId: tokens.bos,
    eosTokenIds: tokens.eos,
    layerShapes,
  };
}

/** The config.json key of per-block widths after structured pruning (sparsekit's extension; HF reads one width). */
export const LAYER_SHAPES_KEY = 'sparsekit_layer_shapes';

/**
 * Per-block widths from `sparsekit_layer_shapes`: a list of { num_attention_heads,
 * num_key_value_heads, intermediate_size }, one per block. Absent: every block has the top-level widths.
 */
function layerShapesOf(c: Json, numLayers: number, fail: (detail: string) => never): LayerShape[] | null {
  const list = c[LAYER_SHAPES_KEY];
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list) || list.length !== numLayers) fail(`${LAYER_SHAPES_KEY} must list ${numLayers} blocks, got ${describe(list)}`);
  return (list as unknown[]).map((entry, i) => {
    if (!isObject(entry)) return fail(`${LAYER_SHAPES_KEY}[${i}] must be an object, got ${describe(entry)}`);
    const f = new Fields(entry as Json, fail, `${LAYER_SHAPES_KEY}[${i}].`);
    const shape = {
      numHeads: f.positiveInt('num_attention_heads'),
      numKvHeads: f.positiveInt('num_key_value_heads'),
      intermediateSize: f.positiveInt('intermediate_size'),
    };
    if (shape.numHeads % shape.numKvHeads !== 0) fail(`${LAYER_SHAPES_KEY}[${i}]: ${shape.numHeads} heads are not a multiple of ${shape.numKvHeads} KV heads`);
    return shape;
  });
}

function architectureOf(c: Json, fail: (detail: string) => never): DecoderArchitecture {
  const supported = SUPPORTED_ARCHITECTURES.join(', ');
  const list = c.architectures;
  if (list !== undefined && list !== null) {
    if (!Array.isArray(list) || (list.length > 0 && typeof list[0] !== 'string')) {
      fail(`"architectures" must be a list of names, got ${describe(list)}`);
    }
    const first = (list as string[])[0];
    if (first !== undefined) {
      if ((SUPPORTED_ARCHITECTURES as readonly string[]).includes(first)) return first as DecoderArchitecture;
      fail(`architecture ${JSON.stringify(first)} is not supported; sparsekit runs ${supported}`);
    }
  }
  const type = c.model_type;
  if (type === undefined || type === null) fail(`names no architecture (no "architectures" and no "model_type"); sparsekit runs ${supported}`);
  if (typeof type === 'string' && Object.hasOwn(MODEL_TYPE_ARCHITECTURE, type)) return MODEL_TYPE_ARCHITECTURE[type];
  return fail(
    `model_type ${JSON.stringify(type)} is not supported; sparsekit runs ${supported} ` +
      `(model_type ${Object.keys(MODEL_TYPE_ARCHITECTURE).map((t) => JSON.stringify(t)).join(', ')})`,
  );
}

function ropeScaling(value: unknown, fail: (detail: string) => never, key: string): RopeConfig['scaling'] {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return fail(`${key} must be an object or null, got ${describe(value)}`);
  const s = value as Json;
  const type = s.rope_type ?? s.type;
  const supported = SUPPORTED_ROPE_SCALING.map((t) => JSON.stringify(t)).join(', ');
  if (type === undefined || type === null) return fail(`${key} has no "rope_type" (or "type"); supported: ${supported}`);
  const field = new Fields(s, fail, `${key}.`);
  switch (type) {
    case 'default':
      return null;
    case 'linear': {
      const factor = field.positiveNumber('factor');
      if (factor < 1) fail(`${key}.factor must be >= 1, got ${factor}`);
      return { type: 'linear', factor };
    }
    case 'llama3': {
      const factor = field.positiveNumber('factor');
      if (factor < 1) fail(`${key}.factor must be >= 1, got ${factor}`);
      const lowFreqFactor = field.positiveNumber('low_freq_factor');
      const highFreqFactor = field.positiveNumber('high_freq_factor');
      if (highFreqFactor <= lowFreqFactor) {
        fail(`${key}.high_freq_factor (${highFreqFactor}) must be greater than low_freq_factor (${lowFreqFactor})`);
      }
      const originalMaxPositionEmbeddings = field.positiveInt('original_max_position_embeddings');
      return { type: 'llama3', factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings };
    }
    default:
      return fail(`${key} type ${JSON.stringify(type)} is not supported; supported: ${supported}`);
  }
}

/**
 * Qwen2 uses a window only with `use_sliding_window`, and then only in layers >= max_window_layers
 * (or those `layer_types` marks "sliding_attention"). DecoderConfig has one window for all
 * layers, so a model that mixes windowed and full layers is refused rather than run wrongly.
 */
function qwen2SlidingWindow(c: Json, field: Fields, numLayers: number, fail: (detail: string) => never): number | null {
  if (!field.boolean('use_sliding_window', false)) return null;
  if (c.sliding_window === null) return null;
  const window = field.positiveInt('sliding_window', QWEN2_DEFAULT_SLIDING_WINDOW);
  let sliding: boolean[];
  if (Array.isArray(c.layer_types)) {
    if (c.layer_types.length !== numLayers) fail(`layer_types lists ${c.layer_types.length} layers, but num_hidden_layers is ${numLayers}`);
    sliding = c.layer_types.map((t, i) => {
      if (t !== 'sliding_attention' && t !== 'full_attention') fail(`layer_types[${i}] is ${JSON.stringify(t)}; expected "sliding_attention" or "full_attention"`);
      return t === 'sliding_attention';
    });
  } else {
    const first = field.nonNegativeInt('max_window_layers', QWEN2_DEFAULT_MAX_WINDOW_LAYERS);
    sliding = Array.from({ length: numLayers }, (_, i) => i >= first);
  }
  if (sliding.every((s) => !s)) return null;
  if (sliding.every((s) => s)) return window;
  return fail(
    `use_sliding_window with a window in only some layers (${sliding.filter((s) => s).length} of ${numLayers}) is not supported; ` +
      `sparsekit applies one window to every layer`,
  );
}

function specialTokens(
  c: Json,
  generationConfig: unknown,
  source: string,
  fail: (detail: string) => never,
): { bos: number | null; eos: number[] } {
  const fromConfig = { bos: tokenId(c, 'bos_token_id', fail), eos: tokenIds(c, 'eos_token_id', fail) };
  if (generationConfig === undefined || generationConfig === null) return fromConfig;
  const generationSource = source.replace(/config\.json$/, 'generation_config.json');
  const failGeneration = (detail: string): never => {
    throw new ModelError(`${generationSource === source ? `${source} (generation config)` : generationSource}: ${detail}`, { code: 'E_CONFIG' });
  };
  if (!isObject(generationConfig)) return failGeneration(`expected a JSON object, got ${describe(generationConfig)}`);
  const g = generationConfig as Json;
  // transformers' generate() reads generation_config first; config.json fills in what it omits.
  return {
    bos: g.bos_token_id !== undefined ? tokenId(g, 'bos_token_id', failGeneration) : fromConfig.bos,
    eos: g.eos_token_id !== undefined ? tokenIds(g, 'eos_token_id', failGeneration) : fromConfig.eos,
  };
}

function tokenId(o: Json, key: string, fail: (detail: string) => never): number | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (!isNonNegativeInt(v)) fail(`${key} must be a non-negative integer or null, got ${describe(v)}`);
  return v as number;
}

function tokenIds(o: Json, key: string, fail: (detail: string) => never): number[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  if (!list.every(isNonNegativeInt)) fail(`${key} must be a non-negative integer, a list of them, or null; got ${describe(v)}`);
  return [...new Set(list as number[])];
}

/** Typed reads of one object's fields, each failing with the field's name. */
class Fields {
  constructor(
    private readonly o: Json,
    private readonly fail: (detail: string) => never,
    private readonly prefix = '',
  ) {}

  private value(key: string, fallback: unknown): unknown {
    const v = this.o[key];
    if (v === undefined || (v === null && fallback !== undefined)) {
      if (fallback === undefined) this.fail(`missing required field "${this.prefix}${key}"`);
      return fallback;
    }
    return v;
  }

  positiveInt(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (!Number.isSafeInteger(v) || (v as number) < 1) this.fail(`${this.prefix}${key} must be a positive integer, got ${describe(v)}`);
    return v as number;
  }

  nonNegativeInt(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (!isNonNegativeInt(v)) this.fail(`${this.prefix}${key} must be a non-negative integer, got ${describe(v)}`);
    return v as number;
  }

  positiveNumber(key: string, fallback?: number): number {
    const v = this.value(key, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(`${this.prefix}${key} must be a positive number, got ${describe(v)}`);
    return v as number;
  }

  boolean(key: string, fallback?: boolean): boolean {
    const v = this.value(key, fallback);
    if (typeof v !== 'boolean') this.fail(`${this.prefix}${key} must be true or false, got ${describe(v)}`);
    return v as boolean;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInt(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
