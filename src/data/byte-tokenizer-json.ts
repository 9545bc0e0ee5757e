/**
 * A tokenizer.json whose token ids are the UTF-8 bytes themselves (id b = byte b), so that a model
 * trained on byteLevelEncode's ids saves as a Hugging Face folder that `generate` and `eval ppl`
 * tokenize identically. Built as GPT-2's byte-level BPE with no merges: the ByteLevel
 * pre-tokenizer maps each byte to a printable character (GPT-2's bytes_to_unicode table) and the
 * vocabulary maps that character back to the byte's value.
 */

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards in byte order. */
function byteToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + next++));
  return out;
}

export function byteLevelTokenizerJson(): Record<string, unknown> {
  const vocab = Object.fromEntries(byteToUnicode().map((ch, b) => [ch, b]));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}
