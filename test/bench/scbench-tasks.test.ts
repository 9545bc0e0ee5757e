/**
 * The SCBench-style task generators (src/bench/scbench/): determinism by seed, every gold answer
 * present and unique in its context, sizes within one item of the requested length, SCBench's
 * scoring on crafted answers, and the two shared-context modes' plans.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ArgumentError } from '../../src/core/errors.js';
import {
  type ScbenchSample,
  type TaskStyle,
  SCBENCH_TASK_NAMES,
  encodePlan,
  generateScbenchSample,
  mathFindTask,
  meanScoreByTurn,
  mixNeedlesTask,
  promptAt,
  retrKvTask,
  retrMultiHopTask,
  retrPrefixSuffixTask,
  roundHalfEven,
  scbenchTask,
  scoreAnswer,
  scoreTurn,
  sharedContextPlan,
} from '../../src/bench/scbench/index.js';

const STYLES: readonly TaskStyle[] = ['scbench', 'compact'];

function occurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) count++;
  return count;
}

function assertDistinctQuestions(sample: ScbenchSample): void {
  assert.equal(new Set(sample.turns.map((t) => t.question)).size, sample.turns.length, `${sample.task}: a question repeats`);
}

describe('scbench tasks: determinism', () => {
  for (const name of SCBENCH_TASK_NAMES) {
    for (const style of STYLES) {
      it(`${name} (${style}): same seed gives the same sample, another seed another`, () => {
        const a = generateScbenchSample(name, { seed: 7, contextLength: 3000, style });
        const b = generateScbenchSample(name, { seed: 7, contextLength: 3000, style });
        const c = generateScbenchSample(name, { seed: 8, contextLength: 3000, style });
        assert.deepEqual(a, b);
        assert.notEqual(a.context, c.context);
        assert.notDeepEqual(a.turns, c.turns);
        assert.equal(a.turns.length, 5);
        assertDistinctQuestions(a);
      });
    }
  }
});

describe('scbench tasks: context length', () => {
  // The longest single item of each task at its defaults (in characters): the result may fall short by less.
  const longestItem: Record<string, number> = {
    'retr.kv': 82,
    'retr.prefix-suffix': 36,
    'retr.multihop': 40,
    'math.find': 7,
    'mix.needles': 110,
  };
  for (const name of SCBENCH_TASK_NAMES) {
    for (const target of [2000, 20000, 120000]) {
      it(`${name} at ${target} characters is within one item below the target`, () => {
        const sample = generateScbenchSample(name, { seed: 3, contextLength: target });
        assert.ok(sample.context.length <= target, `${sample.context.length} > ${target}`);
        assert.ok(sample.context.length > target - longestItem[name], `${sample.context.length} too far below ${target}`);
      });
    }
  }

  it('sizes by the given measure, not by characters', () => {
    // Two units per character: the context must hold about half as many characters.
    const sample = retrKvTask({ seed: 1, contextLength: 10000, measure: (text) => 2 * text.length });
    assert.ok(sample.context.length <= 5000 && sample.context.length > 5000 - 82, `${sample.context.length}`);
  });

  it('an exact pair count overrides filling, and both at once are refused', () => {
    const sample = retrKvTask({ seed: 1, pairs: 6, turns: 3, keyLength: 2, valueLength: 5, alphabet: 'abcdefghijklmnopqrstuvwxyz0123456789', style: 'compact' });
    assert.equal(sample.context.split('\n').filter((l) => l !== '').length, 6);
    assert.throws(() => retrKvTask({ seed: 1, pairs: 6, contextLength: 1000 }), ArgumentError);
    assert.throws(() => retrKvTask({ seed: 1 }), /contextLength .* or pairs/);
  });
});

describe('scbench tasks: every gold answer is present and unique', () => {
  it('Retr.KV (UUIDs, JSON): each asked key occurs once, mapped to the gold value', () => {
    const sample = retrKvTask({ seed: 11, contextLength: 20000 });
    const object = JSON.parse(sample.context) as Record<string, string>;
    assert.equal(Object.keys(object).length, occurrences(sample.context, '": "'), 'a key repeats');
    for (const turn of sample.turns) {
      const key = /Key: "([^"]+)"/.exec(turn.question)?.[1] ?? '';
      assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(occurrences(sample.context, key), 1);
      assert.equal(object[key], turn.answer);
      assert.equal(occurrences(sample.context, turn.answer), 1);
      assert.deepEqual(turn.gold, [turn.answer]);
      assert.equal(turn.scoring, 'substring');
    }
  });

  it('Retr.KV scaled down (2-character keys, kk:vvvvv lines): exactly one line has each asked key', () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    for (let seed = 0; seed < 20; seed++) {
      const sample = retrKvTask({ seed, pairs: 8, turns: 4, keyLength: 2, valueLength: 5, alphabet, style: 'compact' });
      const lines = sample.context.split('\n').filter((l) => l !== '');
      assert.ok(lines.every((l) => /^[a-z0-9]{2}:[a-z0-9]{5}$/.test(l)), sample.context);
      assert.equal(new Set(lines.map((l) => l.slice(0, 2))).size, 8);
      for (const turn of sample.turns) {
        const key = /^\?([a-z0-9]{2}):$/.exec(turn.question)?.[1] ?? '';
        const hits = lines.filter((l) => l.startsWith(`${key}:`));
        assert.deepEqual(hits, [`${key}:${turn.answer}`]);
      }
      assertDistinctQuestions(sample);
    }
  });

  it('Retr.Prefix-Suffix: exactly one string has each asked prefix and suffix; distractors share one end', () => {
    const sample = retrPrefixSuffixTask({ seed: 5, contextLength: 30000 });
    const list = JSON.parse(sample.context) as string[];
    assert.equal(new Set(list).size, list.length);
    for (const turn of sample.turns) {
      const [, prefix, suffix] = /starts with "([^"]+)" and ends with "([^"]+)"/.exec(turn.question) ?? [];
      assert.deepEqual(list.filter((s) => s.startsWith(prefix) && s.endsWith(suffix)), [turn.answer]);
      assert.ok(list.filter((s) => s.startsWith(prefix)).length >= 3, 'fewer than two prefix distractors');
      assert.ok(list.filter((s) => s.endsWith(suffix)).length >= 3, 'fewer than two suffix distractors');
    }
  });

  it('Retr.Prefix-Suffix with a 4-letter alphabet and 1-character ends stays unique', () => {
    for (let seed = 0; seed < 20; seed++) {
      const sample = retrPrefixSuffixTask({
        seed, strings: 40, turns: 3, alphabet: 'abcd', prefixLength: 1, suffixLength: 1, minLength: 5, maxLength: 8, distractors: 1, style: 'compact',
      });
      const list = sample.context.split('\n').filter((l) => l !== '');
      assert.equal(new Set(list).size, 40);
      for (const turn of sample.turns) {
        const [, prefix, suffix] = /^\?(\w)\*(\w):$/.exec(turn.question) ?? [];
        assert.deepEqual(list.filter((s) => s.startsWith(prefix) && s.endsWith(suffix)), [turn.answer]);
      }
    }
  });

  /** Resolves every assignment in order; returns variable -> value. */
  function resolveChains(statements: readonly [string, string][]): Map<string, string> {
    const values = new Map<string, string>();
    for (const [name, source] of statements) {
      assert.ok(!values.has(name), `${name} assigned twice`);
      const value = /^\d+$/.test(source) ? source : values.get(source);
      assert.ok(value !== undefined, `${name} reads ${source} before it is assigned`);
      values.set(name, value);
    }
    return values;
  }

  for (const style of STYLES) {
    it(`Retr.MultiHop (${style}): the chains resolve to exactly the gold set of variables`, () => {
      const sample = retrMultiHopTask({ seed: 9, contextLength: 12000, style });
      const pattern = style === 'scbench' ? /VAR ([A-Z]+) = (?:VAR )?([A-Z]+|\d+)\./g : /^([A-Z]+)=([A-Z]+|\d+)$/gm;
      const statements = [...sample.context.matchAll(pattern)].map((m): [string, string] => [m[1], m[2]]);
      assert.equal(statements.length, 10 * 5, 'default: 2 x turns chains of 5 variables');
      const values = resolveChains(statements);
      for (const turn of sample.turns) {
        const value = /(\d+)/.exec(turn.question)?.[1] ?? '';
        const holders = [...values].filter(([, v]) => v === value).map(([n]) => n);
        assert.deepEqual([...holders].sort(), [...turn.gold].sort());
        assert.equal(turn.answer, turn.gold.join(' '));
        assert.equal(occurrences(sample.context, value), 1);
        assert.equal(turn.scoring, 'all-substrings');
      }
    });
  }

  it('Math.Find: each answer is the asked statistic of the list, and occurs once in it', () => {
    const sample = mathFindTask({ seed: 4, contextLength: 20000, turns: 7 });
    const numbers = (JSON.parse(sample.context) as number[]);
    const sorted = [...numbers].sort((a, b) => a - b);
    const n = sorted.length;
    assert.equal(new Set(numbers).size, n);
    const expected: Record<string, number> = {
      largest: sorted[n - 1], smallest: sorted[0], median: sorted[Math.floor((n - 1) / 2)],
      'second largest': sorted[n - 2], 'second smallest': sorted[1], 'third largest': sorted[n - 3], 'third smallest': sorted[2],
    };
    const asked = sample.turns.map((turn) => /What is the ([a-z ]+) number/.exec(turn.question)?.[1] ?? '');
    assert.deepEqual([...asked].sort(), Object.keys(expected).sort());
    sample.turns.forEach((turn, t) => {
      assert.equal(turn.answer, String(expected[asked[t]]));
      assert.equal(numbers.filter((x) => String(x) === turn.answer).length, 1);
    });
    assert.throws(() => mathFindTask({ seed: 4, contextLength: 20000, turns: 8 }), /only 7 statistics/);
  });

  it('Mix: pass keys and facts alternate, each label and key occurs once beside its answer', () => {
    const sample = mixNeedlesTask({ seed: 2, contextLength: 20000, turns: 6 });
    assert.deepEqual(sample.turns.map((t) => t.scoring), ['first-integer', 'substring', 'first-integer', 'substring', 'first-integer', 'substring']);
    for (const turn of sample.turns) {
      if (turn.scoring === 'first-integer') {
        const label = /pass key of ([A-Z]+)\?/.exec(turn.question)?.[1] ?? '';
        assert.equal(occurrences(sample.context, label), 1);
        assert.ok(sample.context.includes(`The pass key of ${label} is ${turn.answer}.`));
      } else {
        const key = /key "([^"]+)"/.exec(turn.question)?.[1] ?? '';
        assert.equal(occurrences(sample.context, key), 1);
        assert.ok(sample.context.includes(`The value of key "${key}" is "${turn.answer}".`));
      }
      assert.equal(occurrences(sample.context, turn.answer), 1);
    }
  });
});

describe('scbench scoring', () => {
  it('substring (Retr.KV, Prefix-Suffix): the gold inside any text counts, case-sensitive as SCBench', () => {
    const gold = ['65237ec1-e194-48fb-b7f8-488f013a560f'];
    assert.equal(scoreAnswer('65237ec1-e194-48fb-b7f8-488f013a560f', gold, 'substring'), 1);
    assert.equal(scoreAnswer('The value is "65237ec1-e194-48fb-b7f8-488f013a560f".', gold, 'substring'), 1);
    assert.equal(scoreAnswer('65237ec1-e194-48fb-b7f8-488f013a560', gold, 'substring'), 0);
    assert.equal(scoreAnswer('65237EC1-E194-48FB-B7F8-488F013A560F', gold, 'substring'), 0);
  });

  it('all-substrings (MultiHop): the share of variables found, lowercased, rounded as Python', () => {
    const gold = ['IVXGF', 'JWMPK', 'ZSEDO', 'IJMKB', 'BFFHT'];
    assert.equal(scoreAnswer('IVXGF JWMPK ZSEDO IJMKB BFFHT', gold, 'all-substrings'), 1);
    assert.equal(scoreAnswer('they are: ivxgf, JWMPK and ZSEDO.', gold, 'all-substrings'), 0.6);
    assert.equal(scoreAnswer('none', gold, 'all-substrings'), 0);
    const eight = ['AA', 'BB', 'CC', 'DD', 'EE', 'FF', 'GG', 'HH'];
    assert.equal(scoreAnswer('AA', eight, 'all-substrings'), 0.12); // 0.125 ties to even
    assert.equal(scoreAnswer('AA BB CC', eight, 'all-substrings'), 0.38); // 0.375 ties to even
    assert.equal(scoreAnswer('AA', ['AA', 'BB', 'CC'], 'all-substrings'), 0.33);
  });

  it('roundHalfEven matches Python round(x, 2), including doubles just above a tie', () => {
    assert.deepEqual([1 / 8, 3 / 8, 5 / 8, 7 / 8, 0.025, 1 / 3, 2 / 3].map((x) => roundHalfEven(x, 2)), [0.12, 0.38, 0.62, 0.88, 0.03, 0.33, 0.67]);
  });

  it('first-number (Math.Find): the first number of the answer, compared as an integer', () => {
    assert.equal(scoreAnswer('99019', ['99019'], 'first-number'), 1);
    assert.equal(scoreAnswer('The largest number is 99019.', ['99019'], 'first-number'), 1);
    assert.equal(scoreAnswer('99019.7', ['99019'], 'first-number'), 1); // int(float(x)) as in SCBench
    assert.equal(scoreAnswer('Of 12 candidates, 99019', ['99019'], 'first-number'), 0);
    assert.equal(scoreAnswer('no idea', ['99019'], 'first-number'), 0);
    assert.equal(scoreAnswer('9901', ['99019'], 'first-number'), 0);
  });

  it('first-integer (pass keys): the first run of digits must equal the key exactly', () => {
    assert.equal(scoreAnswer('700406', ['700406'], 'first-integer'), 1);
    assert.equal(scoreAnswer('The pass key is 700406.', ['700406'], 'first-integer'), 1);
    assert.equal(scoreAnswer('7004061', ['700406'], 'first-integer'), 0);
    assert.equal(scoreAnswer('key 1: 700406', ['700406'], 'first-integer'), 0);
  });

  it('every generated turn scores 1 on its gold answer and 0 on another turn\'s', () => {
    for (const name of SCBENCH_TASK_NAMES) {
      const sample = generateScbenchSample(name, { seed: 12, contextLength: 5000 });
      sample.turns.forEach((turn, t) => {
        assert.equal(scoreTurn(turn.answer, turn), 1, `${name} turn ${t}`);
        assert.equal(scoreTurn(`Answer: ${turn.answer}`, turn), 1, `${name} turn ${t} with text before`);
        const other = sample.turns[(t + 2) % sample.turns.length];
        assert.equal(scoreTurn(other.answer, turn), 0, `${name} turn ${t} on turn ${(t + 2) % sample.turns.length}'s answer`);
      });
    }
  });

  it('refuses an unknown kind and averages per turn', () => {
    assert.throws(() => scoreAnswer('x', ['x'], 'exact' as never), /unknown scoring kind 'exact'/);
    assert.deepEqual(meanScoreByTurn([[1, 0, 0.5], [0, 0, 1], [1, 1]]), [2 / 3, 1 / 3, 0.75]);
  });
});

describe('scbench shared-context modes', () => {
  const sample = retrKvTask({ seed: 21, contextLength: 4000, turns: 4 });
  const opening = `${sample.preamble}${sample.context}\n\n`;
  const [q0, q1, q2, q3] = sample.turns.map((t) => t.question);
  const [a0, a1, a2] = sample.turns.map((t) => t.answer);

  it('multi-turn: the first question is prefilled; each turn appends the previous gold answer and its question', () => {
    const plan = sharedContextPlan(sample, 'multi-turn');
    assert.equal(plan.prefill, opening + q0);
    assert.ok(plan.prefillHasQuestion);
    assert.deepEqual(plan.steps.map((s) => s.appendKept), ['', `${a0}\n\n${q1}`, `${a1}\n\n${q2}`, `${a2}\n\n${q3}`]);
    assert.ok(plan.steps.every((s) => s.appendTemporary === ''));
    assert.equal(promptAt(plan, 3), `${opening}${q0}${a0}\n\n${q1}${a1}\n\n${q2}${a2}\n\n${q3}`);
    assert.deepEqual(plan.steps.map((s) => s.gold), sample.turns.map((t) => t.gold));
  });

  it('multi-request: the prefill holds no question; each request is the shared prefill plus its own question', () => {
    const plan = sharedContextPlan(sample, 'multi-request');
    assert.equal(plan.prefill, opening);
    assert.ok(!plan.prefillHasQuestion);
    for (const turn of sample.turns) assert.ok(!plan.prefill.includes(turn.question));
    sample.turns.forEach((turn, t) => {
      assert.equal(promptAt(plan, t), opening + turn.question);
      assert.equal(plan.steps[t].appendKept, '');
    });
    // Request 0 sees exactly multi-turn's first prompt.
    assert.equal(promptAt(plan, 0), promptAt(sharedContextPlan(sample, 'multi-turn'), 0));
  });

  it('compact style joins with its own separators', () => {
    const compact = retrKvTask({ seed: 2, pairs: 6, turns: 2, keyLength: 2, valueLength: 5, alphabet: 'abcdefghijklmnopqrstuvwxyz0123456789', style: 'compact' });
    const plan = sharedContextPlan(compact, 'multi-turn');
    const [t0, t1] = compact.turns;
    assert.equal(promptAt(plan, 1), `${compact.context}${t0.question}${t0.answer}\n${t1.question}`);
    assert.match(promptAt(plan, 1), /^([a-z0-9]{2}:[a-z0-9]{5}\n){6}\?[a-z0-9]{2}:[a-z0-9]{5}\n\?[a-z0-9]{2}:$/);
  });

  it('encodePlan encodes each piece so the pieces concatenate to the prompt\'s bytes', () => {
    const bytes = (text: string) => [...new TextEncoder().encode(text)];
    for (const mode of ['multi-turn', 'multi-request'] as const) {
      const plan = sharedContextPlan(sample, mode);
      const encoded = encodePlan(plan, bytes);
      for (let t = 0; t < plan.steps.length; t++) {
        const pieces = [encoded.prefill, ...encoded.steps.slice(0, t + 1).map((s) => s.appendKept), encoded.steps[t].appendTemporary];
        assert.deepEqual(pieces.flat(), bytes(promptAt(plan, t)), `${mode} turn ${t}`);
      }
    }
  });

  it('refuses an unknown mode and a turn out of range', () => {
    assert.throws(() => sharedContextPlan(sample, 'batch' as never), /unknown mode 'batch' \(known: multi-turn, multi-request\)/);
    assert.throws(() => promptAt(sharedContextPlan(sample, 'multi-turn'), 4), /outside 0..3/);
  });
});

describe('scbench registry and bad input', () => {
  it('lists the five tasks and names them all when one is unknown', () => {
    assert.deepEqual(SCBENCH_TASK_NAMES, ['retr.kv', 'retr.prefix-suffix', 'retr.multihop', 'math.find', 'mix.needles']);
    assert.equal(scbenchTask('math.find').name, 'math.find');
    assert.throws(() => scbenchTask('retr.passkey'), (e: unknown) =>
      e instanceof ArgumentError && e.message.includes("'retr.passkey'") && SCBENCH_TASK_NAMES.every((n) => e.message.includes(n)));
    assert.throws(() => generateScbenchSample('retr.kv', { seed: 1 }), /needs contextLength/);
  });

  it('refuses contexts too small for the turns, delimiter characters and impossible sizes', () => {
    assert.throws(() => retrKvTask({ seed: 1, contextLength: 200 }), /holds 2 pairs, fewer than the 5 turns/);
    assert.throws(() => retrKvTask({ seed: 1, pairs: 4 }), /5 turns need 5 distinct pairs/);
    assert.throws(() => retrKvTask({ seed: 1, pairs: 8, alphabet: 'ab"c' }), /alphabet may hold/);
    assert.throws(() => retrKvTask({ seed: 1, pairs: 8, keyLength: 1, alphabet: 'ab' }), /cannot draw another distinct key/);
    assert.throws(() => retrMultiHopTask({ seed: 1, contextLength: 100 }), /need contextLength >= \d+/);
    assert.throws(() => retrMultiHopTask({ seed: 1, contextLength: 5000, nameAlphabet: 'abc' }), /lowercase/);
    assert.throws(() => retrPrefixSuffixTask({ seed: 1, strings: 10 }), /need 25 strings, but the list holds 10/);
    assert.throws(() => mathFindTask({ seed: 1, numbers: 100, maxValue: 50 }), /larger maxValue/);
    assert.throws(() => mixNeedlesTask({ seed: 1, needles: 4, turns: 5, contextLength: 5000 }), /ask 3 pass keys and 2 facts/);
    assert.throws(() => retrKvTask({ seed: 1.5, pairs: 8 }), /seed must be an integer/);
  });
});
