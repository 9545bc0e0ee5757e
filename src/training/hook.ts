/**
 * What a training loop calls on a sparsity controller, structurally, so that other controllers
 * (another library's, a test double) plug into trainClassifier as SparsityController does:
 *
 *   start(); for each step: backward; await beforeStep(step); optimizer.step(); await afterStep(step)
 */
export interface TrainingSparsityHook {
  /** Before the first step: draw the masks and zero the pruned weights. */
  start(): void;
  /** After backward, before the optimizer takes step `step` (1-based): mask the gradients. */
  beforeStep(step: number): Promise<void>;
  /** After the optimizer's step: re-zero pruned weights and update masks; the result is the controller's own. */
  afterStep(step: number): Promise<unknown>;
  /** The current fraction of zeros over the sparse layers. */
  sparsity(): number;
  /** The current masks by layer name, when the controller keeps them (tasks may run masked layers sparse). */
  masks?(): ReadonlyMap<string, Uint8Array>;
}
