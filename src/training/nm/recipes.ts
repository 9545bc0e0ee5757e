/**
 * The N:M training recipes by name, with the papers' settings where they give one: plain STE,
 * SR-STE (Zhou et al. 2021), MDGF and SDGF (Bambhaniya et al. 2024), each on the one
 * straight-through controller (straight-through.ts).
 *
 * Defaults the papers leave open, scaled to the run's length T: MDGF's decay ends a quarter of
 * the way in (linear: alpha reaches 0 at T/4; exponential: alpha = 1% at T/4, where the
 * authors' default decay_coef = 2e-4 puts it after 23,000 steps); no dense or fine-tuning phases
 * (the authors' defaults dense_steps = fine_tune_steps = 0), the final projection making the
 * weights exactly N:M. As in the authors' code, MDGF and SDGF add no SR-STE term unless asked
 * (their SR-STE is a separate sparsity type that ignores the decay settings).
 */
import type { SparseLayer } from '../types.js';
import { ExponentialMaskDecay } from './mdgf-exponential.js';
import { LinearMaskDecay } from './mdgf-linear.js';
import { GeometricStructureDecay } from './sdgf-geometric.js';
import { StepwiseStructureDecay } from './sdgf-stepwise.js';
import { SR_STE_PAPER_DECAY } from './sr-ste.js';
import { type MaskDecayTarget, NmStraightThroughController } from './straight-through.js';
import type { MaskDecaySchedule, NmShape } from './types.js';

export type NmRecipe =
  | { readonly method: 'ste' }
  /** decay: lambda_W, default the paper's 2e-4. */
  | { readonly method: 'sr-ste'; readonly decay?: number }
  /** coefficient: kappa per step (default above); srsteDecay: add SR-STE's term (default 0, as the authors' MDGF). */
  | {
      readonly method: 'mdgf';
      readonly decay: 'linear' | 'exponential';
      readonly coefficient?: number;
      readonly fineTuneFraction?: number;
      readonly srsteDecay?: number;
      readonly on?: MaskDecayTarget;
    }
  | {
      readonly method: 'sdgf';
      readonly structure: 'stepwise' | 'geometric';
      readonly denseFraction?: number;
      readonly fineTuneFraction?: number;
      readonly srsteDecay?: number;
    };

/** The fraction of the run over which MDGF's default coefficient decays. */
const MDGF_DECAY_FRACTION = 0.25;

export function nmSparseTraining(layers: readonly SparseLayer[], target: NmShape, totalSteps: number, recipe: NmRecipe): NmStraightThroughController {
  switch (recipe.method) {
    case 'ste':
      return new NmStraightThroughController(layers, { target, totalSteps });
    case 'sr-ste':
      return new NmStraightThroughController(layers, { target, totalSteps, srsteDecay: recipe.decay ?? SR_STE_PAPER_DECAY });
    case 'mdgf': {
      const decaySteps = MDGF_DECAY_FRACTION * totalSteps;
      const fineTuneStep = recipe.fineTuneFraction ? Math.round((1 - recipe.fineTuneFraction) * totalSteps) + 1 : undefined;
      const maskDecay: MaskDecaySchedule =
        recipe.decay === 'linear'
          ? new LinearMaskDecay({ coefficient: recipe.coefficient ?? 1 / decaySteps, fineTuneStep })
          : new ExponentialMaskDecay({ coefficient: recipe.coefficient ?? Math.log(100) / decaySteps, fineTuneStep });
      return new NmStraightThroughController(layers, { target, totalSteps, maskDecay, maskDecayOn: recipe.on, srsteDecay: recipe.srsteDecay });
    }
    case 'sdgf': {
      const phases = {
        totalSteps,
        denseSteps: Math.round((recipe.denseFraction ?? 0) * totalSteps),
        fineTuneSteps: Math.round((recipe.fineTuneFraction ?? 0) * totalSteps),
      };
      const structure = recipe.structure === 'stepwise' ? new StepwiseStructureDecay(target, phases) : new GeometricStructureDecay(target, phases);
      return new NmStraightThroughController(layers, { target, totalSteps, structure, srsteDecay: recipe.srsteDecay });
    }
  }
}
