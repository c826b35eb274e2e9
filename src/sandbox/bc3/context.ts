import { Refusal, requireJson, type SandboxRequest } from '../shared/http-kit.js';
import { routesFor } from '../shared/router.js';
import { viewOf } from './masking.js';
import type { SandboxData, SandboxPerson, SandboxProject } from './seed.js';

/**
 * One request to the Basecamp 3/4/5 API as its route handlers see it: the account, the caller and what
 * the caller may see; and the rules every people write shares (who may write where).
 */
export class Bc3Context {
  /** The account's API base on this sandbox, for the absolute URLs in answers. */
  readonly accountUrl: string;
  /** The caller; writes take it as given (a token always stands for a person of the account there). */
  readonly me: SandboxPerson | undefined;
  /** What the caller sees of each person: other people's addresses masked unless an admin or owner (./masking.ts). */
  readonly view: <P extends SandboxPerson>(person: P) => P;

  constructor(
    readonly data: SandboxData,
    readonly req: SandboxRequest,
    readonly meId: number,
  ) {
    this.accountUrl = `${req.baseUrl}/${data.accountId}`;
    this.me = data.people.get(meId);
    this.view = viewOf(this.me);
  }

  /** Projects the caller is not on are invisible, so 404, as in Basecamp. */
  visibleProject(id: number): SandboxProject | undefined {
    const project = this.data.projects.get(id);
    return project?.members.has(this.meId) ? project : undefined;
  }
}

/** A route of the Basecamp 3/4/5 API (../shared/router.ts). */
export const bc3Route = routesFor<Bc3Context>();

/** Admins and people allowed to manage people may change who is where; nobody else. */
export const canManagePeople = (me: SandboxPerson): boolean => me.admin || me.can_manage_people;

/**
 * The project a people write on it may change, or the reply refusing it: 415 without JSON (when the write
 * has a body), 404 for a project the caller is not on (or that does not exist), 403 when the caller may not
 * manage people.
 */
export function writableProject(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest, hasBody = true): SandboxProject | Refusal {
  const notJson = hasBody ? requireJson(req) : undefined;
  if (notJson) return new Refusal(notJson);
  const project = data.projects.get(projectId);
  if (!project || !project.members.has(me.id)) return new Refusal({ status: 404, body: { error: 'Not found' } });
  if (!canManagePeople(me)) return new Refusal({ status: 403, body: { error: 'You are not allowed to manage people on this project' } });
  return project;
}
