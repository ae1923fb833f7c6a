import { describe, expect, it } from 'vitest';
import { exportState } from './exports';
import type { Schemas } from '../api/client';

const base: Schemas['ListExport'] = {
  id: '01J',
  list: 'samples',
  format: 'csv',
  status: 'running',
  rows: 45000,
  filters: {},
  filename: 'samples.csv',
  created_at: '2026-12-04T00:00:00Z',
  updated_at: '2026-12-04T00:00:01Z',
};

describe('exportState', () => {
  it('counts rows while running and when done', () => {
    expect(exportState(base)).toBe('Exporting… 45,000 rows so far');
    expect(exportState({ ...base, status: 'done', rows: 1 })).toBe('Ready: 1 row');
  });
  it('says why an export failed', () => {
    expect(exportState({ ...base, status: 'failed', error: 'stalled: the export stopped; start it again' })).toBe(
      'Failed: stalled: the export stopped; start it again',
    );
  });
});
