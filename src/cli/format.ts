/** Tables for people, numbers formatted for reading. */
import Table from 'cli-table3';

export { formatBytes } from '../core/units.js';

export function table(head: string[], rows: (string | number)[][], alignRight: boolean[] = []): string {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (alignRight[i] ? 'right' : 'left')),
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

export function percent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function ratio(x: number): string {
  return `${x.toFixed(2)}x`;
}
