/**
 * SCBench's scoring (compute_scores.py in microsoft/MInference/scbench), one rule per kind:
 * - substring (Retr.KV, Retr.Prefix-Suffix, their kv_retrieval): the gold string occurs in the
 *   prediction, case-sensitive, no normalisation;
 * - all-substrings (Retr.MultiHop, RULER's string_match_all): the share of gold strings found in the
 *   lowercased prediction, rounded to 2 decimals (Python's round: ties to even);
 * - first-number (Math.Find): the first `\d+\.\d+|\d+` of the prediction equals the gold number
 *   (for an integer gold, compared after truncating the match to an integer);
 * - first-integer (pass keys): the first run of digits equals the gold digits exactly.
 * Signs are not read, as in theirs; every generated number is non-negative.
 */
import { ArgumentError } from '../../core/errors.js';
import type { ScbenchTurn, ScoringKind } from './sample.js';

export function scoreAnswer(prediction: string, gold: readonly string[], kind: ScoringKind): number {
  if (gold.length === 0) throw new ArgumentError('scoreAnswer: gold is empty');
  switch (kind) {
    case 'substring':
      return prediction.includes(gold[0]) ? 1 : 0;
    case 'all-substrings': {
      const lower = prediction.toLowerCase();
      const found = gold.filter((g) => lower.includes(g.toLowerCase())).length;
      return roundHalfEven(found / gold.length, 2);
    }
    case 'first-number':
      return firstNumberMatches(prediction, gold[0]) ? 1 : 0;
    case 'first-integer': {
      const run = /\d+/.exec(prediction);
      return run !== null && run[0] === gold[0] ? 1 : 0;
    }
    default:
      throw new ArgumentError(`scoreAnswer: unknown scoring kind '${String(kind)}' (known: substring, all-substrings, first-number, first-integer)`);
  }
}

export function scoreTurn(prediction: string, turn: Pick<ScbenchTurn, 'gold' | 'scoring'>): number {
  return scoreAnswer(prediction, turn.gold, turn.scoring);
}

function firstNumberMatches(prediction: string, gold: string): boolean {
  const match = /\d+\.\d+|\d+/.exec(prediction);
  if (match === null) return false;
  const label = Number(gold);
  if (!Number.isFinite(label)) throw new ArgumentError(`scoreAnswer: first-number gold '${gold}' is not a number`);
  const found = Number.parseFloat(match[0]);
  return Number.isInteger(label) && !gold.includes('.') ? Math.trunc(found) === label : found === label;
}

/**
 * Python's round(x, digits): the nearest multiple of 10^-digits to the double's exact value,
 * ties to even. toFixed rounds the exact value too but breaks ties upward, so exact ties
 * (x * 10^digits exactly halfway, as for 1/8) are settled here.
 */
export function roundHalfEven(x: number, digits: number): number {
  // An exact tie has the decimal expansion ...d5000... right after `digits` places; toFixed shows it exactly.
  const expansion = Math.abs(x).toFixed(digits + 30);
  const tail = expansion.slice(expansion.indexOf('.') + 1 + digits);
  if (tail === `5${'0'.repeat(29)}`) {
    const scale = 10 ** digits;
    const floor = Math.floor(Math.abs(x) * scale);
    return (Math.sign(x) * (floor % 2 === 0 ? floor : floor + 1)) / scale;
  }
  return Number(x.toFixed(digits));
}

/** Per-turn mean over samples (SCBench reports accuracy per turn index); scores[s][t] is sample s, turn t. */
export function meanScoreByTurn(scores: readonly (readonly number[])[]): number[] {
  const sums: number[] = [];
  const counts: number[] = [];
  for (const sample of scores) {
    sample.forEach((score, t) => {
      sums[t] = (sums[t] ?? 0) + score;
      counts[t] = (counts[t] ?? 0) + 1;
    });
  }
  return sums.map((sum, t) => sum / counts[t]);
}
