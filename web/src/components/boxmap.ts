// Pure layout of a box map: the grid of positions, row letters, and a cell's colour class.
import type { Schemas } from '../api/client';

export type Cell = Schemas['MapCell'];

/** Row label: A…Z, then AA, AB… for plates taller than 26 rows. */
export function rowLabel(row: number): string {
  let n = row;
  let s = '';
  do {
    s = String.fromCharCode(65 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

/** Cells arranged as rows of columns (the API answers them row by row, 1-based). */
export function grid(rows: number, columns: number, cells: Cell[]): (Cell | null)[][] {
  const out: (Cell | null)[][] = Array.from({ length: rows }, () => Array<Cell | null>(columns).fill(null));
  for (const c of cells) {
    const r = c.row - 1;
    const col = c.column - 1;
    if (r >= 0 && r < rows && col >= 0 && col < columns) out[r][col] = c;
  }
  return out;
}

/** The CSS class of a cell: empty, checked out, or its sample's status. */
export function cellClass(c: Cell | null): string {
  if (!c?.occupant) return 'well empty';
  if (c.occupant.checked_out) return 'well checked-out';
  return `well status-${c.occupant.status}`;
}

export function describe(c: Cell): string {
  if (!c.occupant) return `${c.position}: empty`;
  const o = c.occupant;
  return `${c.position}: ${o.barcode}, ${o.sample_type}, ${o.status.replace(/_/g, ' ')}${o.checked_out ? ', checked out' : ''}`;
}
