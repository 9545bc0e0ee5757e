/**
 * Allocators by name, for the pipeline and the CLI: per-layer sparsity budgets whose
 * parameter-weighted mean is the target (see types.ts Allocator).
 */
import { ArgumentError } from '../../core/errors.js';
import type { Allocator } from '../types.js';
import { ErkAllocator } from './erk.js';
import { EvoPressAllocator, type EvoPressOptions } from './evopress.js';
import { GlobalAllocator, type GlobalOptions } from './global.js';
import { OwlAllocator, type OwlOptions } from './owl.js';
import { UniformAllocator } from './uniform.js';

export { checkTarget, formatBudgets, parameters, shiftToTarget, weightedSparsity } from './budget.js';
export { ErkAllocator, erkDensities } from './erk.js';
export { EvoPressAllocator, type EvoPressOptions } from './evopress.js';
export { GlobalAllocator, type GlobalOptions } from './global.js';
export { OwlAllocator, blockSparsities, outlierRatio, type OwlOptions } from './owl.js';
export { UniformAllocator } from './uniform.js';

/** Every allocator's options; each reads its own (they do not overlap). */
export type AllocatorOptions = GlobalOptions & OwlOptions & EvoPressOptions;

const ALLOCATORS: Record<string, (options: AllocatorOptions) => Allocator> = {
  uniform: () => new UniformAllocator(),
  global: (o) => new GlobalAllocator(o),
  erk: () => new ErkAllocator(),
  owl: (o) => new OwlAllocator(o),
  evopress: (o) => new EvoPressAllocator(o),
};

export const ALLOCATOR_NAMES: readonly string[] = Object.keys(ALLOCATORS);

export function allocatorByName(name: string, options: AllocatorOptions = {}): Allocator {
  const make = Object.hasOwn(ALLOCATORS, name) ? ALLOCATORS[name] : undefined;
  if (!make) throw new ArgumentError(`unknown allocator "${name}"; valid: ${ALLOCATOR_NAMES.join(', ')}`);
  return make(options);
}
