import { describe, expect, it } from 'vitest';
import { ApiError, csrfToken, toProblem } from './client';

describe('problems', () => {
  it('maps field errors to their fields', () => {
    const e = new ApiError(422, {
      type: 'urn:tracseq:problem:validation_failed',
      title: 'Validation failed',
      status: 422,
      detail: '',
      code: 'validation_failed',
      errors: [
        { field: 'barcode', message: 'already used', rule: 'unique' },
        { row: 3, message: 'unknown sample type', rule: 'enum' },
      ],
    });
    expect(e.message).toBe('Validation failed');
    expect(e.fieldErrors()).toEqual({ barcode: 'already used', 'row 3': 'unknown sample type' });
  });

  it('gives a non-problem body a readable title', () => {
    expect(toProblem(502, 'Bad gateway').title).toBe('The server could not answer');
    expect(toProblem(404, null).title).toBe('Request failed (404)');
  });
});

describe('csrf', () => {
  it('reads only the CSRF cookie', () => {
    expect(csrfToken('a=1; tracseq_csrf=abc; b=2')).toBe('abc');
    expect(csrfToken('tracseq_csrf=')).toBeNull();
    expect(csrfToken('')).toBeNull();
  });
});
