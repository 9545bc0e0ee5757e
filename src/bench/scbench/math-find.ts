/**
 * SCBench Math.Find (from InfiniteBench's math_find): a long list of integers; each turn asks for
 * a different order statistic (largest, smallest, median, ...). Scored by the first number in the
 * answer, compared as a number. Numbers are distinct, so every answer is one element of the list.
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import {
  type CommonTaskOptions,
  type ScbenchSample,
  type TaskStyle,
  itemCountOrFill,
  pickDistinct,
  positiveInteger,
  resolveCommon,
} from './sample.js';

export const MATH_FIND = 'math.find';

export interface MathFindOptions extends CommonTaskOptions {
  /** Exact count of numbers (at least 7); otherwise the list is filled to contextLength. */
  readonly numbers?: number;
  /** Numbers are drawn from 0..maxValue. Default 99999. */
  readonly maxValue?: number;
}

/** An order statistic: its name in questions, its compact code, and its index in the ascending sort. */
interface Statistic {
  readonly name: string;
  readonly code: string;
  index(n: number): number;
}

// Seven statistics at seven different sorted positions once n >= 7, so no answer repeats.
export const STATISTICS: readonly Statistic[] = [
  { name: 'largest', code: 'max', index: (n) => n - 1 },
  { name: 'smallest', code: 'min', index: () => 0 },
  // The lower median for even n, so the answer is always an element of the list.
  { name: 'median', code: 'med', index: (n) => Math.floor((n - 1) / 2) },
  { name: 'second largest', code: 'max2', index: (n) => n - 2 },
  { name: 'second smallest', code: 'min2', index: () => 1 },
  { name: 'third largest', code: 'max3', index: (n) => n - 3 },
  { name: 'third smallest', code: 'min3', index: () => 2 },
];
const MIN_NUMBERS = 7;

interface NumberLayout {
  readonly preamble: string;
  readonly open: string;
  readonly close: string;
  readonly separator: string;
  question(stat: Statistic): string;
  readonly contextSeparator: string;
  readonly answerSeparator: string;
}

const LAYOUTS: Record<TaskStyle, NumberLayout> = {
  scbench: {
    preamble: 'Answer the questions about the list of numbers below.\n\n',
    open: '[',
    close: ']',
    separator: ', ',
    question: (s) => `What is the ${s.name} number in the list?\nAnswer with one number only. The ${s.name} number in the list is: `,
    contextSeparator: '\n\n',
    answerSeparator: '\n\n',
  },
  compact: {
    preamble: '',
    open: '',
    close: '\n',
    separator: ' ',
    question: (s) => `?${s.code}:`,
    contextSeparator: '',
    answerSeparator: '\n',
  },
};

export function mathFindTask(options: MathFindOptions): ScbenchSample {
  const task = MATH_FIND;
  const common = resolveCommon(task, options);
  const exactCount = itemCountOrFill(task, 'numbers', options.numbers, common);
  const maxValue = positiveInteger(task, 'maxValue', options.maxValue ?? 99999);
  if (common.turns > STATISTICS.length) {
    throw new ArgumentError(`${task}: ${common.turns} turns, but there are only ${STATISTICS.length} statistics to ask (${STATISTICS.map((s) => s.name).join(', ')})`);
  }
  const layout = LAYOUTS[common.style];
  const { measure } = common;
  const rng = new Random(common.seed);

  // Distinct draws by rejection stay cheap while at most half of 0..maxValue is used.
  const limit = Math.floor((maxValue + 1) / 2);
  const seen = new Set<number>();
  const draw = (): number => {
    if (seen.size >= limit) throw new ArgumentError(`${task}: more than ${limit} distinct numbers need a larger maxValue than ${maxValue}`);
    for (;;) {
      const x = rng.int(maxValue + 1);
      if (!seen.has(x)) {
        seen.add(x);
        return x;
      }
    }
  };
  const numbers: number[] = [];
  if (exactCount !== undefined) {
    for (let i = 0; i < exactCount; i++) numbers.push(draw());
  } else {
    const budget = (common.contextLength ?? 0) - measure(layout.open) - measure(layout.close);
    let used = 0;
    for (;;) {
      const x = draw();
      const cost = measure(String(x)) + (numbers.length > 0 ? measure(layout.separator) : 0);
      if (used + cost > budget) break;
      numbers.push(x);
      used += cost;
    }
  }
  if (numbers.length < MIN_NUMBERS) throw new ArgumentError(`${task}: the list needs at least ${MIN_NUMBERS} numbers, got ${numbers.length}`);

  const sorted = [...numbers].sort((a, b) => a - b);
  const asked = pickDistinct(task, 'statistics', STATISTICS.length, common.turns, (n) => rng.int(n));
  return {
    task,
    seed: common.seed,
    style: common.style,
    preamble: layout.preamble,
    context: layout.open + numbers.join(layout.separator) + layout.close,
    contextSeparator: layout.contextSeparator,
    answerSeparator: layout.answerSeparator,
    turns: asked.map((k) => {
      const stat = STATISTICS[k];
      const answer = String(sorted[stat.index(sorted.length)]);
      return { question: layout.question(stat), answer, gold: [answer], scoring: 'first-number' as const };
    }),
  };
}
