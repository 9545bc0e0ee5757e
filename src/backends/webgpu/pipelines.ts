/**
 * Turns KernelSpecs into dispatches: compiles each shader variant once (pipelines cached by key),
 * binds the spec's buffers with an explicit layout (so bindings a variant leaves unused are
 * still valid), and spreads large workgroup counts over a 2-D grid.
 */
import { SparsekitError } from '../../core/errors.js';
import { SHADER_STAGE_COMPUTE } from './buffers.js';
import type { CommandQueue } from './queue.js';
import { bindingDeclarations, type KernelSpec, WGSL_COMMON } from './shaders/common.js';

interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class Dispatcher {
  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();

  constructor(
    private readonly device: GPUDevice,
    private readonly queue: CommandQueue,
    /** maxComputeWorkgroupsPerDimension, or less to exercise the 2-D grid in tests. */
    private readonly maxPerDimension: number,
  ) {}

  /** Number of shader variants compiled so far. */
  get pipelineCount(): number {
    return this.pipelines.size;
  }

  /** Records the dispatch of `spec` (nothing for zero workgroups). */
  run(spec: KernelSpec): void {
    if (spec.workgroups === 0) return;
    const { pipeline, layout } = this.pipeline(spec);
    // Parameters first: placing them may submit the batch so far, before this pass is begun.
    const params = this.queue.bindParams(spec.params.data());
    const bindGroup = this.device.createBindGroup({
      layout,
      entries: [params, ...spec.bindings.map((b): GPUBufferBinding => ({ buffer: b.buffer }))].map((resource, binding) => ({ binding, resource })),
    });
    const pass = this.queue.commands().beginComputePass({ label: spec.key });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y] = grid(spec.workgroups, this.maxPerDimension);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    this.queue.opRecorded();
  }

  private pipeline(spec: KernelSpec): CachedPipeline {
    const signature = spec.bindings.map((b) => `${b.access === 'read' ? 'r' : 'w'}`).join('');
    const key = `${spec.key}|${spec.params.layout}|${spec.bindings.map((b) => `${b.name}:${b.type}`).join(',')}`;
    let cached = this.pipelines.get(key);
    if (!cached) {
      const code = [spec.params.wgsl(), bindingDeclarations(spec.bindings), WGSL_COMMON, spec.body()].join('\n');
      const module = this.device.createShaderModule({ code, label: spec.key });
      const layout = this.bindGroupLayout(signature);
      const pipeline = this.device.createComputePipeline({
        label: spec.key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
      cached = { pipeline, layout };
      this.pipelines.set(key, cached);
    }
    return cached;
  }

  /** Binding 0 (params) is read-only; then one entry per binding, 'r' read-only or 'w' read-write. */
  private bindGroupLayout(signature: string): GPUBindGroupLayout {
    let layout = this.layouts.get(signature);
    if (!layout) {
      const types: GPUBufferBindingType[] = ['read-only-storage', ...[...signature].map((c): GPUBufferBindingType => (c === 'r' ? 'read-only-storage' : 'storage'))];
      layout = this.device.createBindGroupLayout({
        entries: types.map((type, binding) => ({ binding, visibility: SHADER_STAGE_COMPUTE, buffer: { type } })),
      });
      this.layouts.set(signature, layout);
    }
    return layout;
  }
}

/**
 * A grid of at least `groups` workgroups within `max` per dimension: x alone while it fits, else
 * x by y (kernels recover the linear index as x + y * width and skip the few past the end).
 */
export function grid(groups: number, max: number): [number, number] {
  if (groups <= max) return [groups, 1];
  const y = Math.ceil(groups / max);
  if (y > max) throw new SparsekitError('E_WEBGPU', `webgpu: ${groups} workgroups exceed a ${max} x ${max} dispatch`);
  return [Math.ceil(groups / y), y];
}
