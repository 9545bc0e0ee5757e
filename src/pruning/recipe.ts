/**
 * Pruning recipes: what `sparsekit prune` does, as flags or as a JSON/YAML file of one or more
 * steps, validated by a schema (zod) so a typo names the field instead of failing later.
 */
import { z } from 'zod';
import { parseConfigText, validateConfig } from '../io/config-text.js';

export const METHOD_NAMES = ['magnitude', 'random', 'wanda', 'sparsegpt'] as const;
export const REFINER_NAMES = ['dsnot'] as const;
export const ALLOCATION_NAMES = ['uniform', 'global', 'erk', 'owl', 'evo', 'cfsp'] as const;
export const STRUCTURED_PATTERNS = ['channels', 'heads'] as const;

const sparsity = z.number().min(0, 'sparsity must be in [0, 1)').lt(1, 'sparsity must be in [0, 1): 1 would remove every weight');

const patternText = z
  .string()
  .refine(
    (p) => p === 'unstructured' || /^\d+:\d+$/.test(p) || /^block:\d+x\d+$/.test(p) || (STRUCTURED_PATTERNS as readonly string[]).includes(p),
    { message: "pattern must be 'unstructured', 'N:M' (e.g. '2:4'), 'block:RxC' (e.g. 'block:16x16'), 'channels' or 'heads'" },
  );

export const PruneStepSchema = z
  .object({
    method: z.enum(METHOD_NAMES),
    sparsity,
    pattern: patternText.default('unstructured'),
    allocation: z.enum(ALLOCATION_NAMES).default('uniform'),
    refine: z.enum(REFINER_NAMES).optional(),
    /** Compare Wanda/magnitude scores within each output row (the paper) or across the layer. */
    group: z.enum(['row', 'layer']).default('row'),
    /** Only Linears whose HF name matches (a regular expression); default all block Linears. */
    layers: z.string().optional(),
    seed: z.number().int().default(0),
    /** OWL: outliers are Wanda scores above this many times the block mean (M; 3 as the authors' main.py; 5 made OWL worse than uniform on our 3.4M model, a sweep of M in 3, 5, 7 and lambda in 0.02 to 0.1). */
    owlThreshold: z.number().positive().default(3),
    /** OWL: layer sparsities spread over target +/- lambda. */
    owlLambda: z.number().min(0).lt(0.5).default(0.08),
    /** EvoPress: generations of the search, and children per generation. */
    evoGenerations: z.number().int().min(0).default(30),
    evoOffspring: z.number().int().positive().default(16),
  })
  .strict();

export const CalibrationSchema = z
  .object({
    /** Text files to sample calibration windows from; required when a step reads statistics. */
    files: z.array(z.string()).default([]),
    sequences: z.number().int().positive().default(64),
    length: z.number().int().min(2).default(128),
    seed: z.number().int().default(0),
  })
  .strict();

export const PruneRecipeSchema = z
  .object({
    calibration: CalibrationSchema.default({ files: [], sequences: 64, length: 128, seed: 0 }),
    steps: z.array(PruneStepSchema).min(1, 'a recipe needs at least one step'),
    /** How the output stores pruned Linears: sparse formats (default) or zero-filled dense tensors. */
    store: z.enum(['sparse', 'dense']).default('sparse'),
  })
  .strict();

export type PruneStep = z.infer<typeof PruneStepSchema>;
export type PruneRecipe = z.infer<typeof PruneRecipeSchema>;

/** A recipe from JSON or YAML text, or an ArgumentError listing every problem with its field path. */
export function parseRecipe(text: string, source: string): PruneRecipe {
  return validateRecipe(parseConfigText(text, source), source);
}

export function validateRecipe(raw: unknown, source: string): PruneRecipe {
  return validateConfig(PruneRecipeSchema, raw, source, 'recipe');
}
