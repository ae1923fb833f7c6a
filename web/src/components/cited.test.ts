import { expect, it } from 'vitest';
import { pieces } from './cited';

const page = 'Name: Dr Sarah Johnson\nEmail: sarah@uni.edu\nSamples: 6';

it('marks each quote where it was read', () => {
  const p = pieces(page, [
    { label: 'submitter_email', offset: 23, quote: 'Email: sarah@uni.edu' },
    { label: 'submitter_name', offset: 0, quote: 'Name: Dr Sarah Johnson' },
  ]);
  expect(p.map((x) => x.text).join('')).toBe(page);
  expect(p.filter((x) => x.labels.length).map((x) => [x.text, x.labels])).toEqual([
    ['Name: Dr Sarah Johnson', ['submitter_name']],
    ['Email: sarah@uni.edu', ['submitter_email']],
  ]);
});

it('finds a quote near a wrong offset, keeps overlaps, and skips what is not there', () => {
  const p = pieces(page, [
    { label: 'email', offset: 20, quote: 'sarah@uni.edu' },
    { label: 'line', offset: 23, quote: 'Email: sarah@uni.edu' },
    { label: 'ghost', offset: 0, quote: 'not in the page' },
  ]);
  expect(p.map((x) => x.text).join('')).toBe(page);
  expect(p.find((x) => x.text === 'sarah@uni.edu')?.labels).toEqual(['email', 'line']);
  expect(p.some((x) => x.labels.includes('ghost'))).toBe(false);
});
