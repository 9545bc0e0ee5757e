/**
 * A tiny Llama-style tokenizer.json (SentencePiece BPE with byte fallback, as Llama 2 and Mistral
 * ship), written per the HF tokenizers schema: <unk> <s> </s>, the 256 byte tokens <0x00>..<0xFF>,
 * a few letters and merges that spell "▁hello" and "▁world".
 */
export const TINY_PIECES = ['▁', 'h', 'e', 'l', 'o', 'w', 'r', 'd', '▁h', '▁he', 'll', '▁hell', '▁hello', '▁w', 'or', '▁wor', '▁worl', '▁world'];

export const TINY_MERGES = ['▁ h', '▁h e', 'l l', '▁he ll', '▁hell o', '▁ w', 'o r', '▁w or', '▁wor l', '▁worl d'];

/** Id of a piece in the tiny vocabulary. */
export function tinyId(piece: string): number {
  const i = TINY_PIECES.indexOf(piece);
  if (i < 0) throw new Error(`no piece ${piece}`);
  return 3 + 256 + i;
}

export function tinyTokenizerJson(): Record<string, unknown> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  TINY_PIECES.forEach((p, i) => (vocab[p] = 3 + 256 + i));
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: TINY_MERGES,
    },
  };
}

export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: { __type: 'AddedToken', content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    unk_token: '<unk>',
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'LlamaTokenizer',
  };
}
