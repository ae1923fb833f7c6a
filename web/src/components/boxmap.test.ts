import { expect, it } from 'vitest';
import { cellClass, describe as describeCell, grid, rowLabel } from './boxmap';

it('labels rows like plates do', () => {
  expect([0, 7, 15, 25, 26, 27].map(rowLabel)).toEqual(['A', 'H', 'P', 'Z', 'AA', 'AB']);
});

it('places cells by their row and column and ignores ones outside the grid', () => {
  const cells = [
    { position: 'A1', row: 1, column: 1 },
    { position: 'B3', row: 2, column: 3, occupant: { sample_id: 's', barcode: 'X-1', sample_type: 'DNA' as const, status: 'in_storage' as const, checked_out: false, since: '' } },
    { position: 'Z9', row: 26, column: 9 },
  ];
  const g = grid(2, 3, cells);
  expect(g[0][0]?.position).toBe('A1');
  expect(g[1][2]?.position).toBe('B3');
  expect(g[0][1]).toBeNull();
  expect(cellClass(g[1][2])).toBe('well status-in_storage');
  expect(cellClass(g[0][0])).toBe('well empty');
  expect(describeCell(cells[1])).toBe('B3: X-1, DNA, in storage');
});
