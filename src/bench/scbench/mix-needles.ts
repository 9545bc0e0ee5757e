/**
 * A mixed task in the manner of SCBench's multi-tasking set (Mix.Sum+NIAH, Mix.RepoQA+KV): two
 * kinds of needle hidden in one filler text — pass keys (numbers, scored as SCBench scores
 * passkey: the first integer of the answer must equal it) and key-value facts (scored by
 * substring) — with the turns alternating between the kinds, so a cache policy must keep both.
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { type FillerKind, hideInFiller, joinedUnits } from './filler.js';
import { drawDistinct, randomString, stringDrawer } from './random-strings.js';
import {
  type CommonTaskOptions,
  type ScbenchSample,
  type ScbenchTurn,
  type TaskStyle,
  checkAlphabet,
  positiveInteger,
  resolveCommon,
} from './sample.js';

export const MIX_NEEDLES = 'mix.needles';

export interface MixNeedlesOptions extends CommonTaskOptions {
  /** Needles in the text, half of each kind (pass keys take the odd one). Default 2 x turns. */
  readonly needles?: number;
  /** Digits of a pass key (no leading zero). Default 6. */
  readonly passkeyDigits?: number;
  /** Length of a pass key's label (uppercase A-Z). Default 6. */
  readonly labelLength?: number;
  /** Default 36 (a UUID). */
  readonly keyLength?: number;
  /** Default 36 (a UUID). */
  readonly valueLength?: number;
  /** Characters of keys and values; default UUID-like hex. */
  readonly alphabet?: string;
  /** Default 'words'. */
  readonly filler?: FillerKind;
}

interface NeedleLayout {
  readonly preamble: string;
  readonly separator: string;
  passkey(label: string, digits: string): string;
  passkeyQuestion(label: string): string;
  fact(key: string, value: string): string;
  factQuestion(key: string): string;
  readonly contextSeparator: string;
  readonly answerSeparator: string;
}

const LAYOUTS: Record<TaskStyle, NeedleLayout> = {
  scbench: {
    preamble: 'Important facts are hidden in the text below. Remember them; questions about them follow.\n\n',
    separator: ' ',
    passkey: (label, digits) => `The pass key of ${label} is ${digits}. Remember it.`,
    passkeyQuestion: (label) => `What is the pass key of ${label}? The pass key of ${label} is: `,
    fact: (key, value) => `The value of key "${key}" is "${value}".`,
    factQuestion: (key) => `What is the value of key "${key}"? The value is: `,
    contextSeparator: '\n\n',
    answerSeparator: '\n\n',
  },
  compact: {
    preamble: '',
    separator: '\n',
    passkey: (label, digits) => `#${label}=${digits}`,
    passkeyQuestion: (label) => `?#${label}:`,
    fact: (key, value) => `${key}:${value}`,
    factQuestion: (key) => `?${key}:`,
    contextSeparator: '\n',
    answerSeparator: '\n',
  },
};

const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function mixNeedlesTask(options: MixNeedlesOptions): ScbenchSample {
  const task = MIX_NEEDLES;
  const common = resolveCommon(task, options);
  const needles = positiveInteger(task, 'needles', options.needles ?? 2 * common.turns);
  const passkeyDigits = positiveInteger(task, 'passkeyDigits', options.passkeyDigits ?? 6);
  const labelLength = positiveInteger(task, 'labelLength', options.labelLength ?? 6);
  const keyLength = positiveInteger(task, 'keyLength', options.keyLength ?? 36);
  const valueLength = positiveInteger(task, 'valueLength', options.valueLength ?? 36);
  const alphabet = options.alphabet === undefined ? undefined : checkAlphabet(task, 'alphabet', options.alphabet);
  if (labelLength < 2) throw new ArgumentError(`${task}: labelLength must be at least 2 so a label cannot occur in the filler, got ${labelLength}`);
  const layout = LAYOUTS[common.style];
  const rng = new Random(common.seed);
  const draw = stringDrawer(alphabet);

  // Turns alternate pass key, fact, pass key, ...; each kind must hold as many needles as it is asked.
  const passkeyCount = Math.ceil(needles / 2);
  const factCount = needles - passkeyCount;
  const passkeyTurns = Math.ceil(common.turns / 2);
  const factTurns = common.turns - passkeyTurns;
  if (passkeyTurns > passkeyCount || factTurns > factCount) {
    throw new ArgumentError(`${task}: ${common.turns} turns ask ${passkeyTurns} pass keys and ${factTurns} facts, but ${needles} needles hold ${passkeyCount} and ${factCount}`);
  }

  const labels = new Set<string>();
  const digitSet = new Set<string>();
  const keys = new Set<string>();
  const values = new Set<string>();
  const low = 10 ** (passkeyDigits - 1);
  const passkeys = Array.from({ length: passkeyCount }, () => ({
    label: drawDistinct(task, 'label', labels, () => randomString(rng, labelLength, UPPERCASE)),
    digits: drawDistinct(task, 'pass key', digitSet, () => String(low + rng.int(9 * low))),
  }));
  const facts = Array.from({ length: factCount }, () => ({
    key: drawDistinct(task, 'key', keys, () => draw(rng, keyLength)),
    value: drawDistinct(task, 'value', values, () => draw(rng, valueLength)),
  }));
  const needleTexts = [...passkeys.map((p) => layout.passkey(p.label, p.digits)), ...facts.map((f) => layout.fact(f.key, f.value))];
  rng.shuffle(needleTexts);

  const minimum = joinedUnits(needleTexts, layout.separator, common.measure);
  if (common.contextLength !== undefined && common.contextLength < minimum) {
    throw new ArgumentError(`${task}: ${needles} needles need contextLength >= ${minimum}, got ${common.contextLength}`);
  }
  const pieces = hideInFiller(rng, options.filler ?? 'words', needleTexts, common.contextLength ?? minimum, layout.separator, common.measure);
  const context = pieces.join(layout.separator);

  const askedPasskeys = rng.shuffle(passkeys.slice()).slice(0, passkeyTurns);
  const askedFacts = rng.shuffle(facts.slice()).slice(0, factTurns);
  const turns: ScbenchTurn[] = [];
  for (let t = 0; t < common.turns; t++) {
    if (t % 2 === 0) {
      const { label, digits } = askedPasskeys[t / 2];
      turns.push({ question: layout.passkeyQuestion(label), answer: digits, gold: [digits], scoring: 'first-integer' });
    } else {
      const { key, value } = askedFacts[(t - 1) / 2];
      turns.push({ question: layout.factQuestion(key), answer: value, gold: [value], scoring: 'substring' });
    }
  }
  // Short keys over letters could occur inside filler words; refuse rather than ask an ambiguous question.
  for (const needle of [...askedPasskeys.map((p) => p.label), ...askedFacts.map((f) => f.key)]) {
    if (context.indexOf(needle) !== context.lastIndexOf(needle)) {
      throw new ArgumentError(`${task}: '${needle}' occurs more than once in the context; use longer keys or an alphabet without lowercase letters`);
    }
  }
  return {
    task,
    seed: common.seed,
    style: common.style,
    preamble: layout.preamble,
    context,
    contextSeparator: layout.contextSeparator,
    answerSeparator: layout.answerSeparator,
    turns,
  };
}
