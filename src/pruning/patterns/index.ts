/** The Pattern object for a PatternSpec (unstructured.ts, nm.ts, block.ts). */
import type { Pattern, PatternSpec } from '../types.js';
import { BlockPattern } from './block.js';
import { NmPattern } from './nm.js';
import { UnstructuredPattern } from './unstructured.js';

export { BlockPattern, NmPattern, UnstructuredPattern };
export { assertSparsity } from './select.js';

export function patternFor(spec: PatternSpec): Pattern {
  switch (spec.kind) {
    case 'unstructured':
      return new UnstructuredPattern(spec.group);
    case 'nm':
      return new NmPattern(spec.n, spec.m);
    case 'block':
      return new BlockPattern(spec.rows, spec.cols);
  }
}
