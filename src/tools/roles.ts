import type { Caller, Role } from '../caller.js';
import { RoleForbiddenError } from '../errors.js';
import type { RegisteredTool } from './lib/define.js';

/**
 * THE ROLES, tool by tool. A tool a role may not use does not exist for that caller: it is absent from
 * tools/list, and a call to it gets the SDK's own answer for a tool that does not exist (JSON-RPC -32602
 * `Tool trash_person not found`), before anything is read or sent; a caller learns nothing of tools beyond its
 * role. A tool an operator may use only in part (update_project_access: grants, not revokes) is refused by
 * `refuseForRole` (kind role_forbidden) before any request. Read-only tools (readOnlyHint) are every role's; a
 * write must be named here to be an operator's.
 */
const OPERATOR_WRITES: ReadonlySet<string> = new Set(['invite_person', 'invite_people', 'update_project_access']);

/** What each role is for, as a refusal says it. */
export const ROLE_MEANING: Record<Role, string> = {
  reader: 'a reader may use the read-only tools only',
  operator: 'an operator may read, invite and grant project access, but not revoke access or offboard anyone',
  admin: 'an admin may use every tool',
};

/** Whether this role may use the tool at all (it is listed and callable). */
export function roleMayUse(role: Role, tool: Pick<RegisteredTool, 'name' | 'annotations'>): boolean {
  if (role === 'admin' || tool.annotations.readOnlyHint) return true;
  return role === 'operator' && OPERATOR_WRITES.has(tool.name);
}

/**
 * The call's arguments ask for something the role may not do with a tool it may use: throws RoleForbiddenError
 * (nothing was read or sent). Runs before the tool's own checks.
 */
export function refuseForRole(caller: Caller, tool: Pick<RegisteredTool, 'name'>, args: Record<string, unknown>): void {
  if (caller.role === 'admin') return;
  if (tool.name === 'update_project_access' && args.revoke !== undefined) {
    throw new RoleForbiddenError(
      `The caller "${caller.name}" has the role operator, and ${ROLE_MEANING.operator}: update_project_access with revoke is refused. Nothing was read or changed. ` +
        'Call again with grant only, or ask an admin to revoke.',
    );
  }
}
