import { accessReport } from './access-report.js';
import { exportPeople } from './export-people.js';
import type { RegisteredTool } from './lib/define.js';
import { getAccount } from './get-account.js';
import { getPerson } from './get-person.js';
import { invitePeople } from './invite-people.js';
import { invitePerson } from './invite-person.js';
import { listPeople } from './list-people.js';
import { listChanges } from './list-changes.js';
import { listProjects } from './list-projects.js';
import { reconcilePeople } from './reconcile-people.js';
import { peopleChanges } from './people-changes.js';
import { trashPerson } from './trash-person.js';
import { updateProjectAccess } from './update-project-access.js';
import { roleMayUse } from './roles.js';
import type { Role } from '../caller.js';

/** Every tool, in the order clients list them. Filters (read-only) work on this list. */
export const tools: RegisteredTool[] = [
  listPeople,
  getPerson,
  invitePerson,
  invitePeople,
  updateProjectAccess,
  trashPerson,
  getAccount,
  listProjects,
  listChanges,
  accessReport,
  exportPeople,
  reconcilePeople,
  peopleChanges,
];

/** The tools a server offers: read-only ones with readOnly, and of those the ones the caller's role may use (roles.ts). */
export function selectTools(options: { readOnly?: boolean; role?: Role } = {}): RegisteredTool[] {
  return tools.filter((t) => (!options.readOnly || t.annotations.readOnlyHint) && (options.role === undefined || roleMayUse(options.role, t)));
}
