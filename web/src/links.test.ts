import { expect, it } from 'vitest';
import { appPath } from './links';

it('opens subjects and message links in the app', () => {
  expect(appPath('samples/01ABC')).toBe('/samples/01ABC');
  expect(appPath('storage/locations/01L')).toBe('/storage/01L');
  expect(appPath('https://lims.example.org/sequencing/runs/R1')).toBe('/sequencing/runs/R1');
  expect(appPath('intake/documents/D1')).toBe('/documents/D1');
  expect(appPath('user/01U')).toBeNull();
  expect(appPath('samples/a/b')).toBeNull();
  expect(appPath('javascript:alert(1)')).toBeNull();
  expect(appPath(null)).toBeNull();
});
