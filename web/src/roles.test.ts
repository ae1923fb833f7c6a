import { expect, it } from 'vitest';
import { atLeast } from './roles';

it('a role includes the rights of the roles below it', () => {
  expect(atLeast('lab_administrator', 'lab_technician')).toBe(true);
  expect(atLeast('lab_technician', 'lab_technician')).toBe(true);
  expect(atLeast('research_scientist', 'lab_technician')).toBe(false);
  expect(atLeast(undefined, 'guest')).toBe(false);
});
