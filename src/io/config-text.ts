/**
 * Configuration files (pruning recipes, training configs): JSON when the name ends in .json, YAML
 * otherwise (YAML reads JSON too), validated by a zod schema whose every problem is reported by
 * its field path, so a typo names the field instead of failing later.
 */
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ArgumentError } from '../core/errors.js';

/** The parsed value of a JSON or YAML text; `source` names it in errors. */
export function parseConfigText(text: string, source: string): unknown {
  const json = source.endsWith('.json');
  try {
    return json ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ArgumentError(`${source}: not valid ${json ? 'JSON' : 'YAML'} (${(error as Error).message})`);
  }
}

/** `raw` checked against `schema`, or an ArgumentError listing each problem as "path: message". */
export function validateConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string, what: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ArgumentError(`${source}: invalid ${what}:\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
