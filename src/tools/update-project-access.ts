import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { InvalidInputError } from '../basecamp/errors.js';
import type { Person, Project } from '../basecamp/types.js';
import type { ToolServices } from './define.js';
import { defineTool } from './define.js';
import { grantWarning, projectById, refuseGrantIntoTrash } from './target-project.js';
import { email, personId, projectId } from './params.js';
import { compactPerson, toCompactPerson } from './shapes.js';

const who = z.union([personId, email]);
const people = z.array(who).min(1).max(100);
type Who = number | string;
type Action = 'grant' | 'revoke';

/** Emails → people through the directory (one fresh re-read at most); every unknown email is reported at once, before any write. */
async function resolveEmails(ctx: ToolServices, items: Who[], signal: AbortSignal): Promise<Map<string, Person>> {
  const emails = items.filter((x): x is string => typeof x === 'string');
  if (!emails.length) return new Map();
  const found = await ctx.directory.findManyByEmail(emails, signal);
  const unknown = emails.filter((e) => !found.has(normalEmail(e)));
  if (unknown.length) {
    throw new InvalidInputError(
      `No person on the account has the email ${unknown.join(', ')}. Nothing was changed. Use invite_person to add someone new, or list_people to find the right address.`,
    );
  }
  return found;
}

/** Revoking yourself would cut this server off from the project (the HQ: from most of the account). */
async function refuseRevokingSelf(ctx: ToolServices, revokeIds: number[], project: Project, signal: AbortSignal): Promise<void> {
  const me = await ctx.api.myProfile(signal);
  if (revokeIds.includes(me.id)) {
    throw new InvalidInputError(
      `${me.name} (id ${me.id}) is the signed-in person: revoking them from ${project.name} would cut this server off from it. ` +
        'Nothing was changed. Another admin can do it, in Basecamp or signed in as themselves.',
    );
  }
}

/**
 * Who these ids are, after the write: 'unknown' when the directory cannot say (unreadable, or read only in
 * part). The write is done by then, so a failed look-up must not turn its result into a failure.
 */
async function lookUpAfterWrite(ctx: ToolServices, ids: number[], signal: AbortSignal): Promise<Map<number, Person | 'unknown' | undefined>> {
  const all = await ctx.directory.people({ signal }).catch(() => undefined);
  return new Map(ids.map((id) => [id, all?.items.find((p) => p.id === id) ?? (all && !all.truncated ? undefined : 'unknown')] as const));
}

/** Why Basecamp left someone out of its answer, as far as the directory can tell. */
function whyLeftOut(person: Person | undefined | 'unknown', action: Action, projectId: number): string {
  const notDone = action === 'grant' ? 'Not granted' : 'Not revoked';
  if (person === 'unknown') return `${notDone}: Basecamp left it out of its answer, and the directory could not be read to say why. Check with list_people project_id=${projectId}.`;
  if (!person) return 'Basecamp ignored it: not a person on this account.';
  if (person.personable_type === 'Tombstone') return `${notDone}: ${person.name} was removed from the account.`;
  if (person.client) {
    return `${notDone}: ${person.name} is a client, and this tool manages team members only (Basecamp drops client ids here). Manage clients in the project's People settings in Basecamp.`;
  }
  return `${notDone}: Basecamp left ${person.name} out of its answer without saying why. Check with list_people project_id=${projectId}.`;
}

export const updateProjectAccess = defineTool({
  name: 'update_project_access',
  title: 'Grant or revoke project access',
  description:
    'Give people access to a project, a team or the HQ (grant) and/or take it away (revoke), by person id or email. ' +
    'Only team members already on the account can be granted; use invite_person for someone new. Unknown emails fail before ' +
    'anything changes, and so does revoking the signed-in person or granting into a trashed project. People Basecamp left ' +
    'out of its answer come back in ignored, with the likely reason (not a person on the account, a client, a removed person). ' +
    'Granting into an archived project works but is read-only for them: the result says so in warning. Revoking does not ' +
    'remove anyone from the account.',
  inputSchema: {
    project_id: projectId,
    grant: people.optional().describe('Person ids or emails to give access.'),
    revoke: people.optional().describe('Person ids or emails to take access from.'),
  },
  outputSchema: {
    project_id: z.number(),
    project_name: z.string(),
    granted: z.array(compactPerson),
    revoked: z.array(compactPerson),
    ignored: z.array(z.object({ person: z.union([z.number(), z.string()]), action: z.enum(['grant', 'revoke']), reason: z.string() })),
    warning: z.string().optional().describe('Set when the project is archived: people granted can see it, read-only.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (!args.grant?.length && !args.revoke?.length) throw new InvalidInputError('Give grant, revoke, or both (person ids or emails).');
    const norm = (x: Who) => (typeof x === 'string' ? normalEmail(x) : x);
    const granting = new Set((args.grant ?? []).map(norm));
    const both = (args.revoke ?? []).filter((x) => granting.has(norm(x)));
    if (both.length) throw new InvalidInputError(`${both.join(', ')} is in both grant and revoke; say which you mean.`);
  },
  async handler(args, ctx) {
    const { signal } = ctx;
    const grant = args.grant ?? [];
    const revoke = args.revoke ?? [];
    const byEmail = await resolveEmails(ctx, [...grant, ...revoke], signal);
    const idOf = (x: Who) => (typeof x === 'number' ? x : byEmail.get(normalEmail(x))!.id);
    const grantIds = [...new Set(grant.map(idOf))];
    const revokeIds = [...new Set(revoke.map(idOf))];
    const overlap = grantIds.filter((id) => revokeIds.includes(id));
    if (overlap.length) throw new InvalidInputError(`Person ${overlap.join(', ')} is in both grant and revoke (by id and email); say which you mean.`);
    const project = await projectById(ctx, args.project_id, signal);
    if (grantIds.length) refuseGrantIntoTrash(project);
    if (revokeIds.length) await refuseRevokingSelf(ctx, revokeIds, project, signal);

    let result: { granted: Person[]; revoked: Person[] };
    try {
      result = await ctx.api.updateProjectPeople(project.id, { grant: grantIds, revoke: revokeIds }, signal);
    } finally {
      ctx.directory.invalidate();
    }
    const grantedIds = new Set(result.granted.map((p) => p.id));
    const revokedIds = new Set(result.revoked.map((p) => p.id));
    const leftOut: { person: Who; action: Action }[] = [
      ...grant.filter((g) => !grantedIds.has(idOf(g))).map((g) => ({ person: g, action: 'grant' as const })),
      ...revoke.filter((r) => !revokedIds.has(idOf(r))).map((r) => ({ person: r, action: 'revoke' as const })),
    ];
    // Emails were resolved before the write; ids are looked up (one directory read) only when Basecamp left one out.
    const leftOutIds = leftOut.map((x) => x.person).filter((x): x is number => typeof x === 'number');
    const byId = leftOutIds.length ? await lookUpAfterWrite(ctx, leftOutIds, signal) : new Map<number, Person | 'unknown' | undefined>();
    const personOf = (x: Who) => (typeof x === 'string' ? byEmail.get(normalEmail(x)) : byId.get(x));
    const ignored = leftOut.map((x) => ({ ...x, reason: whyLeftOut(personOf(x.person), x.action, project.id) }));
    const warning = result.granted.length ? grantWarning(project) : undefined;

    const parts = [
      result.granted.length ? `granted ${result.granted.map((p) => p.name).join(', ')}` : '',
      result.revoked.length ? `revoked ${result.revoked.map((p) => p.name).join(', ')}` : '',
      ...ignored.map((i) => `${i.person}: ${i.reason}`),
    ].filter(Boolean);
    return {
      structured: {
        project_id: project.id,
        project_name: project.name,
        granted: result.granted.map(toCompactPerson),
        revoked: result.revoked.map(toCompactPerson),
        ignored,
        ...(warning ? { warning } : {}),
      },
      summary: `${project.name}: ${parts.join('; ') || 'nothing changed'}.${warning ? ` WARNING: ${warning}` : ''}`,
    };
  },
});
