/** Tables for people, numbers formatted for reading. */
import Table from 'cli-table3';

export function table(head: string[], rows: (string | number)[][], alignRight: boolean[] = []): string {
  const t = new Table({
    head,
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (alignRight[i] ? 'right' : 'left')),
  });
  for (const r of rows) t.push(r.map(String));
  return t.toString();
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function percent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function ratio(x: number): string {
  return `${x.toFixed(2)}x`;
}
