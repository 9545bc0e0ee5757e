/**
 * SCBench Retr.KV (from InfiniteBench's kv_retrieval): a JSON object of random UUID keys and
 * values; each turn names one key and asks for its value. Scored by substring match.
 * Scaled down for small models: `keyLength: 2, valueLength: 5, alphabet: 'a..z0..9', style:
 * 'compact'` gives the `kk:vvvvv` lines and `?kk:` questions of NOTES-retrieval-models.md.
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { drawDistinct, stringDrawer } from './random-strings.js';
import {
  type CommonTaskOptions,
  type ScbenchSample,
  type TaskStyle,
  checkAlphabet,
  itemCountOrFill,
  pickDistinct,
  positiveInteger,
  resolveCommon,
} from './sample.js';

export const RETR_KV = 'retr.kv';

export interface RetrKvOptions extends CommonTaskOptions {
  /** Exact number of pairs; otherwise the object is filled to contextLength. */
  readonly pairs?: number;
  /** Default 36 (a UUID). */
  readonly keyLength?: number;
  /** Default 36 (a UUID). */
  readonly valueLength?: number;
  /** Characters of keys and values; default UUID-like hex (see random-strings.ts). */
  readonly alphabet?: string;
}

interface KvLayout {
  readonly preamble: string;
  readonly open: string;
  readonly close: string;
  readonly separator: string;
  entry(key: string, value: string): string;
  question(key: string): string;
  readonly contextSeparator: string;
  readonly answerSeparator: string;
}

const LAYOUTS: Record<TaskStyle, KvLayout> = {
  scbench: {
    preamble: 'Find the value stored under the given key in the JSON object below.\n\n',
    open: '{',
    close: '}',
    separator: ', ',
    entry: (key, value) => `"${key}": "${value}"`,
    question: (key) => `Key: "${key}"\nThe value stored under this key is: `,
    contextSeparator: '\n\n',
    answerSeparator: '\n\n',
  },
  compact: {
    preamble: '',
    open: '',
    close: '',
    separator: '',
    entry: (key, value) => `${key}:${value}\n`,
    question: (key) => `?${key}:`,
    contextSeparator: '',
    answerSeparator: '\n',
  },
};

export function retrKvTask(options: RetrKvOptions): ScbenchSample {
  const common = resolveCommon(RETR_KV, options);
  const exactPairs = itemCountOrFill(RETR_KV, 'pairs', options.pairs, common);
  const keyLength = positiveInteger(RETR_KV, 'keyLength', options.keyLength ?? 36);
  const valueLength = positiveInteger(RETR_KV, 'valueLength', options.valueLength ?? 36);
  const alphabet = options.alphabet === undefined ? undefined : checkAlphabet(RETR_KV, 'alphabet', options.alphabet);
  const draw = stringDrawer(alphabet);
  const layout = LAYOUTS[common.style];
  const { measure } = common;
  const rng = new Random(common.seed);

  const keys = new Set<string>();
  const values = new Set<string>();
  const nextPair = (): [string, string] => [
    drawDistinct(RETR_KV, 'key', keys, () => draw(rng, keyLength)),
    drawDistinct(RETR_KV, 'value', values, () => draw(rng, valueLength)),
  ];
  const pairs: [string, string][] = [];
  if (exactPairs !== undefined) {
    for (let i = 0; i < exactPairs; i++) pairs.push(nextPair());
  } else {
    const budget = (common.contextLength ?? 0) - measure(layout.open) - measure(layout.close);
    let used = 0;
    for (;;) {
      const [key, value] = nextPair();
      const cost = measure(layout.entry(key, value)) + (pairs.length > 0 ? measure(layout.separator) : 0);
      if (used + cost > budget) break;
      pairs.push([key, value]);
      used += cost;
    }
    if (pairs.length < common.turns) {
      throw new ArgumentError(`${RETR_KV}: contextLength ${common.contextLength} holds ${pairs.length} pairs, fewer than the ${common.turns} turns`);
    }
  }

  const asked = pickDistinct(RETR_KV, 'pairs', pairs.length, common.turns, (n) => rng.int(n));
  return {
    task: RETR_KV,
    seed: common.seed,
    style: common.style,
    preamble: layout.preamble,
    context: layout.open + pairs.map(([k, v]) => layout.entry(k, v)).join(layout.separator) + layout.close,
    contextSeparator: layout.contextSeparator,
    answerSeparator: layout.answerSeparator,
    turns: asked.map((i) => {
      const [key, value] = pairs[i];
      return { question: layout.question(key), answer: value, gold: [value], scoring: 'substring' as const };
    }),
  };
}
