/** `sparsekit inspect <file.safetensors|dir> [--json]`: what a model holds and how sparse it is. */
import { inspectSafetensors, type InspectReport } from '../io/node/inspect.js';
import { formatBytes, percent, table } from './format.js';
import { progressBar } from './progress.js';

export async function inspectCommand(path: string, options: { json?: boolean }): Promise<void> {
  let bar: ReturnType<typeof progressBar> | null = null;
  const report = await inspectSafetensors(path, (done, total) => {
    // Only worth a bar when scanning takes a while.
    if (!bar && total > 256 * 1024 * 1024) bar = progressBar('scanning', Math.ceil(total / 1048576), ' MiB');
    bar?.update(Math.floor(done / 1048576));
  });
  (bar as ReturnType<typeof progressBar> | null)?.stop();
  for (const warning of report.warnings) process.stderr.write(`sparsekit: warning: ${warning}\n`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  process.stdout.write(renderInspectReport(report));
}

/**
 * The report as a table: one row per dense tensor and per sparse weight (its format, logical
 * shape, the sparsity of the whole matrix, and the bytes of all its stored parts).
 */
export function renderInspectReport(report: InspectReport): string {
  const multiFile = report.files.length > 1;
  const head = ['tensor', ...(multiFile ? ['file'] : []), 'format', 'dtype', 'shape', 'sparsity', 'bytes'];
  const rows = report.tensors.map((t) => [
    t.name,
    ...(multiFile ? [t.file] : []),
    t.format,
    t.dtype,
    `[${t.shape.join(', ')}]`,
    percent(t.sparsity),
    formatBytes(t.bytes),
  ]);
  const right = head.map((h) => h === 'sparsity' || h === 'bytes');
  const { totals } = report;
  return (
    `${table(head, rows, right)}\n` +
    `${totals.tensors} tensors${totals.sparseWeights > 0 ? ` (${totals.sparseWeights} sparse)` : ''}, ${totals.elements.toLocaleString('en-US')} elements, ${formatBytes(totals.bytes)} of data ` +
    `in ${report.files.length} file${report.files.length === 1 ? '' : 's'} (${formatBytes(totals.fileBytes)}); ` +
    `sparsity ${percent(totals.sparsity)} (${totals.zeros.toLocaleString('en-US')} zeros)\n`
  );
}
