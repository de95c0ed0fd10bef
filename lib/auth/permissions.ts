import type { Role } from '../../schema/database.ts';

export const ROLES = ['md', 'admin', 'manager', 'agent', 'operator'] as const satisfies readonly Role[];

/**
 * The one permission map: every check in the app asks `can(role, permission)`. md and admin have
 * full access and are the only roles that reach /admin and /api/admin.
 */
export const PERMISSIONS = {
  /** /api/admin/* and the /admin dashboard */
  'admin:access': ['md', 'admin'],
  /** list, create, update and reset passwords of users */
  'users:manage': ['md', 'admin'],
  /** change a user's role */
  'users:assign-role': ['md', 'admin'],
  /** trigger jobs by hand */
  'jobs:run': ['md', 'admin'],
  /** CRM leads: agents see only their own (enforced in the query) */
  'leads:read': ['md', 'admin', 'manager', 'agent'],
  'leads:write': ['md', 'admin', 'manager', 'agent'],
  'attendance:read': ['md', 'admin', 'manager'],
  /** vending: operators see only their own tasks (enforced in the query) */
  'machines:read': ['md', 'admin', 'manager', 'operator'],
  'machines:write': ['md', 'admin', 'manager'],
  'tasks:read': ['md', 'admin', 'manager', 'operator'],
  'tasks:write': ['md', 'admin', 'manager'],
  'tasks:complete': ['md', 'admin', 'manager', 'operator'],
  /** start and verify backups (listing them is admin:access) */
  'backups:manage': ['md', 'admin'],
  /** vending dictionaries: locations and the product catalog (nomenclature) */
  'locations:read': ['md', 'admin', 'manager', 'operator'],
  'locations:write': ['md', 'admin', 'manager'],
  'products:read': ['md', 'admin', 'manager', 'operator'],
  'products:write': ['md', 'admin', 'manager'],
  /** inventory reservations for tasks: create and release */
  'reservations:write': ['md', 'admin', 'manager'],
  /** operator ratings: operators see only their own (enforced in the query) */
  'ratings:read': ['md', 'admin', 'manager', 'operator'],
  /** task photos and documents: operators only on their own tasks (enforced in the query) */
  'uploads:read': ['md', 'admin', 'manager', 'operator'],
  'uploads:write': ['md', 'admin', 'manager', 'operator'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}
