/**
 * Filler text that needles are hidden in. 'noise' is the repeated five-sentence haystack of the
 * passkey tests that RULER's variable tracking (SCBench's Retr.MultiHop) uses; 'words' is varied
 * seeded prose from a small vocabulary, harder to compress away than a repeated block (SCBench's
 * mixed tasks hide needles in real documents, which we do not download).
 */
import type { Random } from '../../core/random.js';

export type FillerKind = 'noise' | 'words';

const NOISE = ['The grass is green.', 'The sky is blue.', 'The sun is yellow.', 'Here we go.', 'There and back again.'];

// Lowercase words only: needles use uppercase names, digits and hex, so filler cannot contain one.
const WORDS = (
  'river stone garden window paper market winter summer morning evening table letter ' +
  'friend music street forest harbor valley bridge candle basket mirror orange silver ' +
  'quiet gentle simple narrow early later often never always slowly softly bright ' +
  'walks reads opens carries finds keeps writes paints builds watches hears follows ' +
  'the a an of to in on with under over near behind across between before after and but'
).split(' ');
const WORD_NOUNS = WORDS.slice(0, 24);

/** One filler sentence. 'noise' cycles through its five sentences from `index`. */
export function fillerSentence(rng: Random, kind: FillerKind, index: number): string {
  if (kind === 'noise') return NOISE[index % NOISE.length];
  const count = 6 + rng.int(7);
  const words: string[] = [WORD_NOUNS[rng.int(WORD_NOUNS.length)]];
  for (let i = 1; i < count; i++) words.push(WORDS[rng.int(WORDS.length)]);
  const first = words[0];
  words[0] = first[0].toUpperCase() + first.slice(1);
  return `${words.join(' ')}.`;
}

/**
 * Filler sentences joined by `separator` into at most `budget` units, together with `needles`
 * placed at random sentence boundaries in their given order (a chain's assignments must stay in
 * order). Returns the pieces in reading order; join them with `separator`.
 */
export function hideInFiller(
  rng: Random,
  kind: FillerKind,
  needles: readonly string[],
  budget: number,
  separator: string,
  measure: (text: string) => number,
): string[] {
  const sepUnits = measure(separator);
  let used = needles.reduce((sum, n) => sum + measure(n), 0) + sepUnits * Math.max(0, needles.length - 1);
  const filler: string[] = [];
  for (;;) {
    const sentence = fillerSentence(rng, kind, filler.length);
    const cost = measure(sentence) + (needles.length + filler.length > 0 ? sepUnits : 0);
    if (used + cost > budget) break;
    filler.push(sentence);
    used += cost;
  }
  // Each needle goes before filler sentence slot[i]; sorted slots keep the needles' order.
  const slots = needles.map(() => rng.int(filler.length + 1)).sort((a, b) => a - b);
  const pieces: string[] = [];
  let next = 0;
  for (let i = 0; i <= filler.length; i++) {
    while (next < needles.length && slots[next] === i) pieces.push(needles[next++]);
    if (i < filler.length) pieces.push(filler[i]);
  }
  return pieces;
}

/** Units that `pieces` take when joined by `separator`. */
export function joinedUnits(pieces: readonly string[], separator: string, measure: (text: string) => number): number {
  return pieces.reduce((sum, p) => sum + measure(p), 0) + measure(separator) * Math.max(0, pieces.length - 1);
}
