/**
 * SCBench's two shared-context modes as data plans (after create_multiturn_prompt /
 * create_scdq_prompt and GreedySearch.test / test_scdq in scbench/eval_utils.py):
 * - multi-turn: the first prompt (preamble, context, first question) is prefilled; each later turn
 *   appends the previous turn's gold answer and the next question to the same cache and keeps
 *   them. Generated tokens are never kept: the gold answer stands in for them ("golden context").
 * - multi-request: the preamble and context are prefilled once without any question (a policy
 *   that compresses here is question-blind); each question is prefilled on top of that shared
 *   cache for its own request only and dropped after its answer.
 * In both, every step generates an answer that is scored against its turn's gold.
 * Our multi-request prefill ends with the context separator, so that prefill + question is the
 * same text as multi-turn's first prompt (SCBench's scdq prompts join them with nothing between).
 */
import { ArgumentError } from '../../core/errors.js';
import type { ScbenchSample, ScoringKind } from './sample.js';

export type SharedContextMode = 'multi-turn' | 'multi-request';
export const SHARED_CONTEXT_MODES: readonly SharedContextMode[] = ['multi-turn', 'multi-request'];

/** One turn or request: what goes into the cache before generating, and what the generation is scored against. */
export interface PlanStep<T = string> {
  readonly turn: number;
  /** Appended to the shared cache and kept for every later step (multi-turn only). */
  readonly appendKept: T;
  /** Appended for this step only and dropped after its answer (multi-request only). */
  readonly appendTemporary: T;
  /** The gold answer as text; multi-turn appends it at the start of the next step. */
  readonly answer: string;
  readonly gold: readonly string[];
  readonly scoring: ScoringKind;
}

export interface SharedContextPlan<T = string> {
  readonly mode: SharedContextMode;
  readonly task: string;
  /** Encoded once into the shared cache. */
  readonly prefill: T;
  /** Whether the prefill already holds a question (multi-turn's first), which a query-aware policy may use. */
  readonly prefillHasQuestion: boolean;
  readonly steps: readonly PlanStep<T>[];
}

export function sharedContextPlan(sample: ScbenchSample, mode: SharedContextMode): SharedContextPlan {
  if (sample.turns.length === 0) throw new ArgumentError(`sharedContextPlan: sample of ${sample.task} has no turns`);
  const opening = sample.preamble + sample.context + sample.contextSeparator;
  const scored = (t: number) => ({ answer: sample.turns[t].answer, gold: sample.turns[t].gold, scoring: sample.turns[t].scoring });
  switch (mode) {
    case 'multi-turn':
      return {
        mode,
        task: sample.task,
        prefill: opening + sample.turns[0].question,
        prefillHasQuestion: true,
        steps: sample.turns.map((turn, t) => ({
          turn: t,
          appendKept: t === 0 ? '' : sample.turns[t - 1].answer + sample.answerSeparator + turn.question,
          appendTemporary: '',
          ...scored(t),
        })),
      };
    case 'multi-request':
      return {
        mode,
        task: sample.task,
        prefill: opening,
        prefillHasQuestion: false,
        steps: sample.turns.map((turn, t) => ({ turn: t, appendKept: '', appendTemporary: turn.question, ...scored(t) })),
      };
    default:
      throw new ArgumentError(`sharedContextPlan: unknown mode '${String(mode)}' (known: ${SHARED_CONTEXT_MODES.join(', ')})`);
  }
}

/** The text a model conditions on when it generates step `turn`: the cache's contents at that point. */
export function promptAt(plan: SharedContextPlan, turn: number): string {
  if (!Number.isInteger(turn) || turn < 0 || turn >= plan.steps.length) {
    throw new ArgumentError(`promptAt: turn ${turn} is outside 0..${plan.steps.length - 1}`);
  }
  let text = plan.prefill;
  for (let t = 0; t <= turn; t++) text += plan.steps[t].appendKept;
  return text + plan.steps[turn].appendTemporary;
}

/**
 * The plan in tokens: each piece encoded on its own, so what a step appends is exactly the token
 * sequence that lands in the cache (re-tokenising the whole prompt could merge across pieces).
 */
export function encodePlan<T>(plan: SharedContextPlan, encode: (text: string) => T): SharedContextPlan<T> {
  return {
    ...plan,
    prefill: encode(plan.prefill),
    steps: plan.steps.map((step) => ({ ...step, appendKept: encode(step.appendKept), appendTemporary: encode(step.appendTemporary) })),
  };
}
