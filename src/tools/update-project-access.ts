import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { IncompleteDataError, InvalidInputError, KnownError, withNote, withResult } from '../errors.js';
import { isPersonRecord } from '../basecamp/records.js';
import type { Membership, Person, Project } from '../basecamp/types.js';
import type { ToolContext, ToolServices } from './lib/define.js';
import { withClientStatus } from './lib/client-status.js';
import { obtainConsent, planOnly, planText } from './lib/consent.js';
import { defineTool } from './lib/define.js';
import { grantWarning, projectById, refuseGrantIntoTrash } from './lib/target-project.js';
import { email, personId, planToken, projectId } from './lib/params.js';
import { compactPerson, personLabel, projectLabel, toCompactPerson } from './lib/shapes.js';

const who = z.union([personId, email]);
const plannedPerson = z.object({
  id: z.number(),
  name: z.string().nullable().describe('null: not in the people directory (Basecamp will likely ignore the id).'),
  email_address: z.string().nullable(),
  membership: z.enum(['team', 'client']).describe('Which of Basecamp\'s endpoints it goes through: team members or clients.'),
});
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

/** What the directory says of each id (undefined: not on the account; 'unknown': the directory cannot say). */
type Known = Person | 'unknown' | undefined;

/** Who these ids are, as far as the directory can tell: 'unknown' when it cannot be read (or only in part). */
async function lookUp(ctx: ToolServices, ids: number[], grantIds: number[], signal: AbortSignal): Promise<Map<number, Known>> {
  const all = await ctx.directory.people({ signal }).catch(() => undefined);
  const found = new Map<number, Known>(ids.map((id) => [id, all?.items.find((p) => p.id === id) ?? (all && !all.truncated ? undefined : 'unknown')] as const));
  // Where the listing does not say who is a client (Basecamp 2), the client projects' people do: a client must
  // never be granted as a team member. Only grants need it (a revoke takes either kind away).
  const caps = await ctx.api.capabilities(signal);
  const granted = grantIds.map((id) => found.get(id));
  if (!caps.clientsInDirectory && granted.includes('unknown')) {
    throw new IncompleteDataError(
      `The people directory could not be read${all?.truncated ? ` to the end (${all.truncated})` : ''}, so whether ${grantIds.filter((id) => found.get(id) === 'unknown').join(', ')} ` +
        'is a client cannot be told, and a client granted as a team member would see what is hidden from clients. Nothing was changed. Try again later.',
    );
  }
  const people = granted.filter((p): p is Person => p !== undefined && p !== 'unknown');
  for (const p of await withClientStatus(ctx, people, signal)) found.set(p.id, p);
  return found;
}

/** Why Basecamp left someone out of its answer, as far as the directory can tell. */
function whyLeftOut(person: Known, action: Action, projectId: number): string {
  const notDone = action === 'grant' ? 'Not granted' : 'Not revoked';
  if (person === 'unknown') return `${notDone}: Basecamp left it out of its answer, and the directory could not be read to say why. Check with list_people project_id=${projectId}.`;
  if (!person) return 'Basecamp ignored it: not a person on this account.';
  if (person.personable_type === 'Tombstone') return `${notDone}: ${person.name} was removed from the account.`;
  return `${notDone}: Basecamp left ${person.name} out of its answer without saying why. Check with list_people project_id=${projectId}.`;
}

/** Clients are granted and revoked through client_users.json, everyone else through users.json. */
const membershipOf = (person: Known): Membership => (person && person !== 'unknown' && person.client ? 'client' : 'team');

export const updateProjectAccess = defineTool({
  name: 'update_project_access',
  title: 'Grant or revoke project access',
  description:
    'Give people access to a project, a team or the HQ (grant) and/or take it away (revoke), by person id or email. ' +
    'Team members and clients already on the account can be granted (clients go through Basecamp\'s client endpoint, ' +
    'team members through the team one: a request may mix them); use invite_person for someone new. Granting a client ' +
    'where clients are off is refused unless enable_clients: true. Unknown emails fail before ' +
    'anything changes, and so does revoking the signed-in person or granting into a trashed project. People Basecamp left ' +
    'out of its answer come back in ignored, with the likely reason (not a person on the account, a removed person). ' +
    'Granting into an archived project works but is read-only for them: the result says so in warning. Revoking does not ' +
    'remove anyone from the account. Revoking asks the human to confirm when the client can; otherwise the first call ' +
    'answers confirmation_required with the plan and a plan_token, and the same call with plan_token runs exactly that. ' +
    'dry_run: true checks everything and returns the plan (and, when it revokes, its plan_token) without changing anything.',
  inputSchema: {
    project_id: projectId,
    grant: people.optional().describe('Person ids or emails to give access.'),
    revoke: people.optional().describe('Person ids or emails to take access from.'),
    enable_clients: z
      .boolean()
      .optional()
      .describe('true: if a client is granted on a project where clients are off, turn clients on first (Basecamp applies its default client visibility).'),
    dry_run: z.boolean().optional().describe('true: only check and return the plan (with a plan_token when it revokes); change nothing.'),
    plan_token: planToken,
  },
  outputSchema: {
    project_id: z.number(),
    project_name: z.string(),
    granted: z.array(compactPerson),
    revoked: z.array(compactPerson),
    ignored: z.array(z.object({ person: z.union([z.number(), z.string()]), action: z.enum(['grant', 'revoke']), reason: z.string() })),
    warning: z.string().optional().describe('Set when the project is archived: people granted can see it, read-only.'),
    clients_enabled_now: z.boolean().optional().describe('true: clients were off on the project and this call turned them on (enable_clients).'),
    cancelled: z.boolean().optional().describe('true: the person asked said no; nothing was changed.'),
    dry_run: z.boolean().optional().describe('true: a dry run; nothing was changed.'),
    plan: z
      .object({
        grant: z.array(plannedPerson),
        revoke: z.array(plannedPerson),
        enable_clients: z.boolean().describe('true: clients would be turned on for the project first.'),
      })
      .optional()
      .describe('With dry_run, confirmation_required, plan_changed or human_required: exactly what the call would do.'),
    plan_token: z.string().optional().describe('With confirmation_required: seals this exact change; pass it back to run it.'),
    expires_at: z.string().optional(),
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

    // Route each person by their record: clients through client_users.json, everyone else through users.json.
    const known = await lookUp(ctx, [...grantIds, ...revokeIds], grantIds, signal);
    const split = (ids: number[], m: Membership) => ids.filter((id) => membershipOf(known.get(id)) === m);
    const writes = (['team', 'client'] as const)
      .map((m) => ({ membership: m, grant: split(grantIds, m), revoke: split(revokeIds, m) }))
      .filter((w) => w.grant.length || w.revoke.length);
    const clientGrants = writes.find((w) => w.membership === 'client')?.grant ?? [];
    const enableFirst = clientGrants.length > 0 && project.clients_enabled === false;
    const caps = await ctx.api.capabilities(signal);
    if (enableFirst && !caps.clientSwitch) {
      throw new InvalidInputError(
        `${clientGrants.map((id) => nameOf(known.get(id), id)).join(', ')} ${clientGrants.length === 1 ? 'is a client' : 'are clients'}, and ${project.name} is not a client ` +
          `project; ${caps.productName}'s API cannot make it one. Nothing was changed. Make it a client project in Basecamp, or invite them as clients to a client project (list_projects shows [clients]).`,
      );
    }
    if (enableFirst && !args.enable_clients) {
      throw new InvalidInputError(
        `${clientGrants.map((id) => nameOf(known.get(id), id)).join(', ')} ${clientGrants.length === 1 ? 'is a client' : 'are clients'}, and clients are off on ` +
          `${project.name}. Nothing was changed. Pass enable_clients: true to turn clients on there first (Basecamp applies its ` +
          `default client visibility), or turn them on in the project's settings in Basecamp.`,
      );
    }

    // The plan, exactly: what a dry run shows, what consent is asked for, what a plan_token seals.
    const planned = (ids: number[]) => ids.map((id) => plannedOf(known.get(id), id));
    const plan = { grant: planned(grantIds), revoke: planned(revokeIds), enable_clients: enableFirst };
    const steps = [
      ...(enableFirst ? [`turn clients on for ${projectLabel(project)} (Basecamp applies its default client visibility)`] : []),
      ...plan.grant.map((p) => `grant ${personLabel(p)}${p.membership === 'client' ? ' as a client' : ''} access to ${projectLabel(project)}`),
      ...plan.revoke.map((p) => `revoke ${personLabel(p)}${p.membership === 'client' ? ' (a client)' : ''} from ${projectLabel(project)}`),
    ];
    const sealed = {
      tool: 'update_project_access',
      subject: `project:${project.id}`,
      changes: { grant: [...grantIds].sort((a, b) => a - b), revoke: [...revokeIds].sort((a, b) => a - b), enable_clients: enableFirst },
    };
    const auditChanges = [
      ...grantIds.map((person) => ({ person, project_id: project.id, action: 'grant' })),
      ...revokeIds.map((person) => ({ person, project_id: project.id, action: 'revoke' })),
    ];
    const nothingDone = { project_id: project.id, project_name: project.name, granted: [], revoked: [], ignored: [], plan };

    if (args.dry_run) {
      // Granting alone needs no confirmation, so only a plan that revokes gets a token.
      const token = revokeIds.length ? await planOnly(ctx, { plan: sealed, changes: auditChanges }) : undefined;
      const then = token
        ? `plan_token: ${token.plan_token} (valid until ${token.expires_at}) runs exactly this plan.`
        : 'Granting alone needs no confirmation: call again without dry_run to do it.';
      return {
        structured: { ...nothingDone, dry_run: true, ...(token ?? {}) },
        summary: `Dry run for ${projectLabel(project)}: nothing was changed. It would:`,
        text: `${planText(steps)}\n${then}`,
      };
    }

    // Taking access away needs a human's answer or an exact plan.
    if (revokeIds.length) {
      const names = (ids: number[]) => ids.map((id) => nameOf(known.get(id), id)).join(', ');
      const consent = await obtainConsent(ctx, {
        plan: sealed,
        question: `Revoke ${names(revokeIds)} from ${project.name}${grantIds.length ? ` (and grant ${names(grantIds)})` : ''}?`,
        steps,
        planToken: args.plan_token,
        changes: auditChanges,
        planned: (token) => ({ ...nothingDone, ...(token ?? {}) }),
      });
      if (!consent.given) {
        return {
          structured: { project_id: project.id, project_name: project.name, granted: [], revoked: [], ignored: [], cancelled: true },
          summary: `Not confirmed (the person asked answered ${consent.answer}): nothing was changed on ${project.name}.`,
        };
      }
    }

    const { result, clientsEnabledNow } = await applyWrites(ctx, project, writes, enableFirst);
    const grantedIds = new Set(result.granted.map((p) => p.id));
    const revokedIds = new Set(result.revoked.map((p) => p.id));
    const leftOut: { person: Who; action: Action }[] = [
      ...grant.filter((g) => !grantedIds.has(idOf(g))).map((g) => ({ person: g, action: 'grant' as const })),
      ...revoke.filter((r) => !revokedIds.has(idOf(r))).map((r) => ({ person: r, action: 'revoke' as const })),
    ];
    const ignored = leftOut.map((x) => ({ ...x, reason: whyLeftOut(known.get(idOf(x.person)), x.action, project.id) }));
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
        ...(clientsEnabledNow ? { clients_enabled_now: true } : {}),
      },
      summary: `${project.name}: ${clientsEnabledNow ? 'turned clients on; ' : ''}${parts.join('; ') || 'nothing changed'}.${warning ? ` WARNING: ${warning}` : ''}`,
    };
  },
});

/**
 * The writes of a planned change, in order (clients turned on first where asked). A write that fails tells what
 * was done before it (in this call and, Basecamp 2, within that write): the one partial result of this tool.
 */
async function applyWrites(
  ctx: ToolContext,
  project: Project,
  writes: { membership: Membership; grant: number[]; revoke: number[] }[],
  enableFirst: boolean,
): Promise<{ result: { granted: Person[]; revoked: Person[] }; clientsEnabledNow: boolean }> {
  const result: { granted: Person[]; revoked: Person[] } = { granted: [], revoked: [] };
  let clientsEnabledNow = false;
  const done = () => ({ project_id: project.id, project_name: project.name, granted: result.granted.map(toCompactPerson), revoked: result.revoked.map(toCompactPerson), ignored: [] });
  try {
    if (enableFirst) clientsEnabledNow = (await ctx.api.setClientsEnabled(project.id, true, ctx.signal)).enabled;
    for (const [i, w] of writes.entries()) {
      try {
        const r = await ctx.api.updateProjectPeople(project.id, { grant: w.grant, revoke: w.revoke }, w.membership, ctx.signal);
        result.granted.push(...r.granted);
        result.revoked.push(...r.revoked);
      } catch (error) {
        // What this write did before it failed (Basecamp 2 sends one request per revoke), then say exactly what was done.
        const before = error instanceof KnownError ? error.partial : undefined;
        result.granted.push(...peopleIn(before?.granted));
        result.revoked.push(...peopleIn(before?.revoked));
        if (i === 0 && !clientsEnabledNow && !result.granted.length && !result.revoked.length) {
          throw error; // nothing was done: the error says it all
        }
        // Clients were turned on before this failed, and stay on: say so, the audit trail shows it too.
        if (clientsEnabledNow) withNote(error, `Clients had been turned on for ${projectLabel(project)} before this failed; they stay on (turn them off in the project's settings in Basecamp if no client should be there).`);
        throw withResult(error, { ...done(), ...(clientsEnabledNow ? { clients_enabled_now: true } : {}) });
      }
    }
  } finally {
    ctx.directory.invalidate();
  }
  return { result, clientsEnabledNow };
}

/** The person records of a partial result (a list of people, or nothing). */
function peopleIn(list: unknown): Person[] {
  return Array.isArray(list) ? (list.filter(isPersonRecord) as Person[]) : [];
}

function plannedOf(person: Known, id: number): z.infer<typeof plannedPerson> {
  const p = person && person !== 'unknown' ? person : undefined;
  return { id, name: p?.name ?? null, email_address: p?.email_address ?? null, membership: membershipOf(person) };
}

function nameOf(person: Known, id: number): string {
  return person && person !== 'unknown' ? `${person.name} (id ${id})` : `person ${id}`;
}
