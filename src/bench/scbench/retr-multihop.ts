/**
 * SCBench Retr.MultiHop (RULER's variable tracking, Hsieh et al. 2024): chains of assignments
 * `VAR A = 12345`, `VAR B = VAR A`, ... scattered in order through filler text; each turn gives one
 * chain's value and asks for every variable that holds it. Scored as RULER/SCBench do: the share
 * of the chain's variable names found in the answer (string_match_all).
 */
import { ArgumentError } from '../../core/errors.js';
import { Random } from '../../core/random.js';
import { type FillerKind, hideInFiller, joinedUnits } from './filler.js';
import { drawDistinct, randomString } from './random-strings.js';
import {
  type CommonTaskOptions,
  type ScbenchSample,
  type TaskStyle,
  checkAlphabet,
  pickDistinct,
  positiveInteger,
  resolveCommon,
} from './sample.js';

export const RETR_MULTIHOP = 'retr.multihop';

export interface RetrMultiHopOptions extends CommonTaskOptions {
  /** Chains in the context; each turn asks a different one. Default 2 x turns, so elimination does not pay. */
  readonly chains?: number;
  /** Assignments after the first, so a chain names hops + 1 variables. Default 4 (RULER's default). */
  readonly hops?: number;
  /** Default 5 (RULER's names are five uppercase letters). */
  readonly nameLength?: number;
  /** Uppercase letters or symbols only: filler is lowercase prose and values are digits. Default A-Z. */
  readonly nameAlphabet?: string;
  /** Digits of each chain's value (no leading zero). Default 5. */
  readonly valueDigits?: number;
  /** Default 'noise' (RULER's haystack). */
  readonly filler?: FillerKind;
}

interface ChainLayout {
  readonly preamble: string;
  readonly separator: string;
  assignValue(name: string, value: string): string;
  assignVariable(name: string, source: string): string;
  question(value: string, count: number): string;
  readonly contextSeparator: string;
  readonly answerSeparator: string;
}

const LAYOUTS: Record<TaskStyle, ChainLayout> = {
  scbench: {
    preamble: 'Track the chains of variable assignments hidden in the text below.\n\n',
    separator: ' ',
    assignValue: (name, value) => `VAR ${name} = ${value}.`,
    assignVariable: (name, source) => `VAR ${name} = VAR ${source}.`,
    question: (value, count) =>
      `Question: Which variables are assigned the value ${value} in the text above? ` +
      `Answer: Following the assignments in the text above, ${count} variables hold the value ${value}; they are: `,
    contextSeparator: '\n\n',
    answerSeparator: '\n\n',
  },
  compact: {
    preamble: '',
    separator: '\n',
    assignValue: (name, value) => `${name}=${value}`,
    assignVariable: (name, source) => `${name}=${source}`,
    question: (value) => `?${value}:`,
    contextSeparator: '\n',
    answerSeparator: '\n',
  },
};

export function retrMultiHopTask(options: RetrMultiHopOptions): ScbenchSample {
  const task = RETR_MULTIHOP;
  const common = resolveCommon(task, options);
  const chains = positiveInteger(task, 'chains', options.chains ?? 2 * common.turns);
  const hops = positiveInteger(task, 'hops', options.hops ?? 4);
  const nameLength = positiveInteger(task, 'nameLength', options.nameLength ?? 5);
  const nameAlphabet = checkAlphabet(task, 'nameAlphabet', options.nameAlphabet ?? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
  if (/[a-z0-9]/.test(nameAlphabet)) throw new ArgumentError(`${task}: nameAlphabet may not hold lowercase letters or digits (filler and values use them), got '${nameAlphabet}'`);
  if (nameLength < 2) throw new ArgumentError(`${task}: nameLength must be at least 2 so a name cannot occur in the filler's capitalised words, got ${nameLength}`);
  const valueDigits = positiveInteger(task, 'valueDigits', options.valueDigits ?? 5);
  const filler = options.filler ?? 'noise';
  const layout = LAYOUTS[common.style];
  const rng = new Random(common.seed);

  const names = new Set<string>();
  const values = new Set<string>();
  const low = 10 ** (valueDigits - 1);
  const chainList = Array.from({ length: chains }, () => {
    const value = drawDistinct(task, 'value', values, () => String(low + rng.int(9 * low)));
    const vars = Array.from({ length: hops + 1 }, () => drawDistinct(task, 'name', names, () => randomString(rng, nameLength, nameAlphabet)));
    const statements = vars.map((name, i) => (i === 0 ? layout.assignValue(name, value) : layout.assignVariable(name, vars[i - 1])));
    return { value, vars, statements };
  });

  // Merge the chains' statements in a uniformly random interleaving that keeps each chain in order.
  const next = new Array<number>(chains).fill(0);
  const statements: string[] = [];
  for (let left = chains * (hops + 1); left > 0; left--) {
    let pick = rng.int(left);
    let c = 0;
    while (pick >= hops + 1 - next[c]) pick -= hops + 1 - next[c++];
    statements.push(chainList[c].statements[next[c]++]);
  }

  const minimum = joinedUnits(statements, layout.separator, common.measure);
  if (common.contextLength !== undefined && common.contextLength < minimum) {
    throw new ArgumentError(`${task}: ${chains} chains of ${hops + 1} variables need contextLength >= ${minimum}, got ${common.contextLength}`);
  }
  const pieces = hideInFiller(rng, filler, statements, common.contextLength ?? minimum, layout.separator, common.measure);

  const asked = pickDistinct(task, 'chains', chains, common.turns, (n) => rng.int(n));
  return {
    task,
    seed: common.seed,
    style: common.style,
    preamble: layout.preamble,
    context: pieces.join(layout.separator),
    contextSeparator: layout.contextSeparator,
    answerSeparator: layout.answerSeparator,
    turns: asked.map((c) => {
      const { value, vars } = chainList[c];
      return { question: layout.question(value, vars.length), answer: vars.join(' '), gold: vars, scoring: 'all-substrings' as const };
    }),
  };
}
