// Lab roles, lowest first: a role has every right of the roles below it (docs/domain.md).
import type { Schemas } from './api/client';

export type Role = Schemas['Role'];

export const ROLES: Role[] = [
  'guest',
  'data_analyst',
  'research_scientist',
  'lab_technician',
  'principal_investigator',
  'lab_administrator',
];

export function atLeast(role: Role | undefined, needed: Role): boolean {
  if (!role) return false;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export const ROLE_LABELS: Record<Role, string> = {
  guest: 'Guest',
  data_analyst: 'Data analyst',
  research_scientist: 'Research scientist',
  lab_technician: 'Lab technician',
  principal_investigator: 'Principal investigator',
  lab_administrator: 'Lab administrator',
};
