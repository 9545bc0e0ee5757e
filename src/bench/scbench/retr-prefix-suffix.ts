/**
 * SCBench Retr.Prefix-Suffix: a long list of random strings of varied length; each turn gives a
 * prefix and a suffix and asks for the one string that has both. Other strings share the prefix
 * or the suffix (distractors), so matching one end is not enough. Scored by substring match.
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { randomString } from './random-strings.js';
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

export const RETR_PREFIX_SUFFIX = 'retr.prefix-suffix';

export interface RetrPrefixSuffixOptions extends CommonTaskOptions {
  /** Exact number of strings; otherwise the list is filled to contextLength. */
  readonly strings?: number;
  /** Default 16. */
  readonly minLength?: number;
  /** Default 32. */
  readonly maxLength?: number;
  /** Default a-z, A-Z, 0-9. */
  readonly alphabet?: string;
  /** Default 3. */
  readonly prefixLength?: number;
  /** Default 3. */
  readonly suffixLength?: number;
  /** Strings per asked item that share its prefix only, and as many that share its suffix only. Default 2. */
  readonly distractors?: number;
}

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

interface ListLayout {
  readonly preamble: string;
  readonly open: string;
  readonly close: string;
  readonly separator: string;
  item(s: string): string;
  question(prefix: string, suffix: string): string;
  readonly contextSeparator: string;
  readonly answerSeparator: string;
}

const LAYOUTS: Record<TaskStyle, ListLayout> = {
  scbench: {
    preamble: 'Below is a list of strings. Each question gives a prefix and a suffix; answer with the one string of the list that has both.\n\n',
    open: '[',
    close: ']',
    separator: ', ',
    item: (s) => `"${s}"`,
    question: (p, s) => `Which string starts with "${p}" and ends with "${s}"? Answer: `,
    contextSeparator: '\n\n',
    answerSeparator: '\n\n',
  },
  compact: {
    preamble: '',
    open: '',
    close: '',
    separator: '',
    item: (s) => `${s}\n`,
    question: (p, s) => `?${p}*${s}:`,
    contextSeparator: '',
    answerSeparator: '\n',
  },
};

export function retrPrefixSuffixTask(options: RetrPrefixSuffixOptions): ScbenchSample {
  const task = RETR_PREFIX_SUFFIX;
  const common = resolveCommon(task, options);
  const exactCount = itemCountOrFill(task, 'strings', options.strings, common);
  const alphabet = checkAlphabet(task, 'alphabet', options.alphabet ?? ALPHANUMERIC);
  const prefixLength = positiveInteger(task, 'prefixLength', options.prefixLength ?? 3);
  const suffixLength = positiveInteger(task, 'suffixLength', options.suffixLength ?? 3);
  const minLength = positiveInteger(task, 'minLength', options.minLength ?? 16);
  const maxLength = positiveInteger(task, 'maxLength', options.maxLength ?? 32);
  const distractors = options.distractors ?? 2;
  if (!Number.isInteger(distractors) || distractors < 0) throw new ArgumentError(`${task}: distractors must be a non-negative integer, got ${distractors}`);
  if (minLength < prefixLength + suffixLength) {
    throw new ArgumentError(`${task}: minLength ${minLength} is shorter than prefixLength + suffixLength (${prefixLength + suffixLength})`);
  }
  if (maxLength < minLength) throw new ArgumentError(`${task}: maxLength ${maxLength} is below minLength ${minLength}`);
  const layout = LAYOUTS[common.style];
  const { measure } = common;
  const rng = new Random(common.seed);

  const taken = new Set<string>();
  const fresh = (length: number, make: () => string = () => randomString(rng, length, alphabet)): string => {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const s = make();
      if (!taken.has(s)) {
        taken.add(s);
        return s;
      }
    }
    throw new ArgumentError(`${task}: cannot draw another distinct string after ${taken.size}; use longer strings or a larger alphabet`);
  };
  const randomLength = (): number => minLength + rng.int(maxLength - minLength + 1);

  // 1. The list, by count or filled to the budget.
  const list: string[] = [];
  if (exactCount !== undefined) {
    for (let i = 0; i < exactCount; i++) list.push(fresh(randomLength()));
  } else {
    const budget = (common.contextLength ?? 0) - measure(layout.open) - measure(layout.close);
    let used = 0;
    for (;;) {
      const s = fresh(randomLength());
      const cost = measure(layout.item(s)) + (list.length > 0 ? measure(layout.separator) : 0);
      if (used + cost > budget) break;
      list.push(s);
      used += cost;
    }
  }
  const needed = common.turns * (1 + 2 * distractors);
  if (list.length < needed) {
    throw new ArgumentError(`${task}: ${common.turns} turns with ${distractors} distractors per side need ${needed} strings, but the list holds ${list.length}`);
  }

  // 2. Targets; a later target that matches an earlier one's prefix and suffix is redrawn.
  const order = pickDistinct(task, 'strings', list.length, needed, (n) => rng.int(n));
  const targets = order.slice(0, common.turns);
  const ends = (s: string): [string, string] => [s.slice(0, prefixLength), s.slice(s.length - suffixLength)];
  const matches = (s: string, [p, q]: [string, string]): boolean => s.startsWith(p) && s.endsWith(q);
  const redraw = (i: number, make?: () => string): void => {
    taken.delete(list[i]);
    list[i] = fresh(list[i].length, make);
  };
  const redrawWhile = (conflict: () => boolean, again: () => void): void => {
    for (let attempt = 0; conflict(); attempt++) {
      if (attempt === 1000) throw new ArgumentError(`${task}: cannot make each asked prefix and suffix unique; use longer strings or a larger alphabet`);
      again();
    }
  };
  for (let t = 0; t < targets.length; t++) {
    const earlier = () => targets.slice(0, t).some((u) => matches(list[targets[t]], ends(list[u])) || matches(list[u], ends(list[targets[t]])));
    redrawWhile(earlier, () => redraw(targets[t]));
  }
  const targetEnds = targets.map((i) => ends(list[i]));

  // 3. Distractors keep one end of a target and draw the rest; `remake[i]` redraws string i its way.
  const remake = new Map<number, () => string>();
  order.slice(common.turns).forEach((i, k) => {
    const [p, q] = targetEnds[Math.floor(k / (2 * distractors))];
    const length = list[i].length;
    const make = k % 2 === 0
      ? () => p + randomString(rng, length - prefixLength, alphabet)
      : () => randomString(rng, length - suffixLength, alphabet) + q;
    remake.set(i, make);
    redraw(i, make);
  });

  // 4. Exactly one string per asked (prefix, suffix): redraw every other string that has both.
  const targetSet = new Set(targets);
  for (let i = 0; i < list.length; i++) {
    if (targetSet.has(i)) continue;
    redrawWhile(() => targetEnds.some((e) => matches(list[i], e)), () => redraw(i, remake.get(i)));
  }

  return {
    task,
    seed: common.seed,
    style: common.style,
    preamble: layout.preamble,
    context: layout.open + list.map((s) => layout.item(s)).join(layout.separator) + layout.close,
    contextSeparator: layout.contextSeparator,
    answerSeparator: layout.answerSeparator,
    turns: targets.map((i, t) => {
      const [p, q] = targetEnds[t];
      return { question: layout.question(p, q), answer: list[i], gold: [list[i]], scoring: 'substring' as const };
    }),
  };
}
