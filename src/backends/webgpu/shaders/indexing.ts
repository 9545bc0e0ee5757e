/**
 * Strided indexing shared by broadcasting, transpose, slice and batched matmul: a linear output
 * index is decoded against a shape, and each operand's element offset is the dot product of the
 * coordinates with that operand's strides (0 on broadcast dims).
 */

export interface CollapsedDims {
  readonly shape: number[];
  /** One stride list per operand, aligned with `shape`. */
  readonly strides: number[][];
}

/**
 * Drops size-1 dims and merges neighbours that every operand walks contiguously (outer stride =
 * inner stride x inner size, broadcast dims included as 0 = 0 x size). The index arithmetic per
 * element shrinks to the true rank of the access pattern, and fewer shader variants are made.
 */
export function collapseDims(shape: readonly number[], strides: readonly (readonly number[])[]): CollapsedDims {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d];
    if (size === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * size)) {
      outShape[last] *= size;
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(size);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: outStrides };
}

/**
 * WGSL statements that decode `index` (a u32 expression) over the params array `p_<shape>` of
 * length `rank` and add coordinate x stride to each target variable (already declared with
 * `var`), unrolled innermost dim first.
 */
export function decodeOffsets(rank: number, index: string, shape: string, targets: readonly { variable: string; strides: string }[]): string {
  if (rank === 0) return '';
  const lines = [`var rem = ${index};`];
  for (let d = rank - 1; d >= 0; d--) {
    // The outermost coordinate is what remains: no modulo needed.
    lines.push(d === 0 ? '{ let c = rem;' : `{ let dim = p_${shape}(${d}u); let c = rem % dim; rem = rem / dim;`);
    for (const t of targets) lines.push(`  ${t.variable} += c * p_${t.strides}(${d}u);`);
    lines.push('}');
  }
  return lines.join('\n  ');
}
