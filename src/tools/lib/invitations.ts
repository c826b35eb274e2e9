import { normalEmail } from '../../basecamp/directory.js';
import { EmailsHiddenError, InvalidInputError, NoHqProjectError, withNote, withResult } from '../../errors.js';
import { BasecampError, OutcomeUnknownError, type RowRefusal } from '../../basecamp/errors.js';
import type { Membership, NewPerson, Person, Project } from '../../basecamp/types.js';
import type { ToolServices } from './define.js';
import { withClientStatus } from './client-status.js';
import { personLabel, projectLabel } from './shapes.js';
import { findHq, grantWarning, projectById, refuseGrantIntoTrash } from './target-project.js';

/**
 * Inviting people, one or a batch, as team members or clients: the engine behind invite_person and
 * invite_people. Each address is invited once (duplicates in a batch, any letter case, share one outcome), an
 * address already on the account is never created again, and what each project really granted is read from
 * Basecamp, never assumed.
 *
 * Team members: one account-level enrollment for the whole batch (POST /account/enrollments/people.json),
 * then project membership read back, since project ids the caller cannot manage are skipped silently. Where
 * the account has no enrollments (404): users.json `create` on the first project (the HQ when none is given)
 * and `grant` on the others. Clients: client_users.json on each project (there is no account-level client invite).
 */

export interface InviteRequest {
  people: NewPerson[];
  /** Projects to give access to; none: the HQ (team members), or none at all where there is no HQ and enrollments work. */
  projectIds: number[];
  asClient: boolean;
  notify: boolean;
  /** Turn clients on where they are off (as clients only). */
  enableClients?: boolean;
}

export type InviteStatus = 'created' | 'existing' | 'failed';

export interface InviteRow {
  email_address: string;
  status: InviteStatus;
  person?: Person;
  error?: string;
}

export interface ProjectOutcome {
  id: number;
  name: string;
  granted: number[];
  not_granted: number[];
  /** Neither proven granted nor proven not: the project's people could not be read (to the end) after the write. */
  unconfirmed?: number[];
  warning?: string;
}

/** A type alias (not an interface) so it can travel as a failure's `result`. */
export type InviteOutcome = {
  results: InviteRow[];
  projects: ProjectOutcome[];
  /** How the account was reached: 'enrollment' (one account-level request) or 'project' (a project's people endpoint). */
  via: 'enrollment' | 'project';
  /** Said when a promise could not be kept (notify: false without enrollments, a project's grant that failed). */
  notes: string[];
};

/**
 * Everything an invitation needs to know before anything is sent: the addresses (each once), the projects, and who
 * is already on the account. Every refusal that can be known here is made here, before a human is asked, a plan
 * token is handed out, or anything is changed: unknown, trashed or non-client projects, clients off without
 * enable_clients, no HQ, a team member in a client batch and a client in a team batch.
 */
export interface PreparedInvite {
  req: InviteRequest;
  /** One entry per address (first spelling and details win). */
  unique: NewPerson[];
  projects: Project[];
  existing: Map<string, Person>;
}

export async function prepareInvite(ctx: ToolServices, req: InviteRequest, signal: AbortSignal): Promise<PreparedInvite> {
  const unique: NewPerson[] = [];
  const seen = new Set<string>();
  for (const p of req.people) {
    const key = normalEmail(p.email_address);
    if (!seen.has(key)) {
      seen.add(key);
      unique.push(p);
    }
  }
  const projects = await targetProjects(ctx, req, signal);
  const existing = await existingPeople(ctx, unique, signal);
  // Basecamp never turns a team member into a client, and a client must not be invited as a team member.
  const wrongKind = unique.flatMap((p) => {
    const known = existing.get(normalEmail(p.email_address));
    if (!known) return [];
    if (req.asClient && !known.client) return [`${personLabel(known)} is a team member on this account; Basecamp never turns a team member into a client`];
    if (!req.asClient && known.client) return [`${personLabel(known)} is a client on this account; invite them with as_client: true`];
    return [];
  });
  if (wrongKind.length) {
    throw new InvalidInputError(
      `${wrongKind.join('. ')}. Nothing was changed: ${unique.length > 1 ? 'take them out of the batch (or invite them in a batch of their own kind) and call again' : 'nobody was invited'}.`,
    );
  }
  return { req, unique, projects, existing };
}

/**
 * Sends a prepared invitation: the writes, then what Basecamp really did, row by row for every input row. A write
 * that failed after rows were known carries them as its partial result, in the shape `report` gives it (the tool's
 * own): set here, once; without `report`, the message alone says what happened.
 */
export async function sendInvite(ctx: ToolServices, prepared: PreparedInvite, signal: AbortSignal, report?: (outcome: InviteOutcome) => Record<string, unknown>): Promise<InviteOutcome> {
  const { req, unique } = prepared;
  const entryOf = new Map(unique.map((p, i) => [normalEmail(p.email_address), i]));
  // One row per input person, in order (an address given twice shares its entry's outcome).
  const perInput = (o: InviteOutcome): InviteOutcome => ({ ...o, results: req.people.map((p) => ({ ...o.results[entryOf.get(normalEmail(p.email_address))!]!, email_address: p.email_address })) });
  const send = req.asClient ? inviteClients(ctx, prepared, signal) : inviteTeam(ctx, prepared, signal);
  const outcome = await send.catch((error: unknown) => {
    if (!(error instanceof InviteStopped)) throw error;
    // Done, but not known in full: what was done is told per input person as well.
    const told = error.cause instanceof OutcomeUnknownError ? perInput(error.outcome) : error.outcome;
    throw report ? withResult(error.cause, report(told)) : error.cause;
  });
  const caps = await ctx.api.capabilities(signal);
  const detailed = unique.some((p) => (p.name && p.name !== p.email_address) || p.title || p.company_name);
  if (!caps.namesInvitees && detailed && outcome.results.some((r) => r.status === 'created')) {
    outcome.notes.push(`${caps.productName} invites by email address only: the names, titles and companies given were not sent; each new person sets their own when they accept.`);
  }
  return perInput(outcome);
}

export async function invite(ctx: ToolServices, req: InviteRequest, signal: AbortSignal): Promise<InviteOutcome> {
  return sendInvite(ctx, await prepareInvite(ctx, req, signal), signal);
}

/** The projects named (checked before any write), or the HQ for team members when none is named. */
async function targetProjects(ctx: ToolServices, req: InviteRequest, signal: AbortSignal): Promise<Project[]> {
  const ids = [...new Set(req.projectIds)];
  const caps = await ctx.api.capabilities(signal);
  if (ids.length === 0) {
    if (req.asClient) throw new InvalidInputError('Clients are invited to a project: give project_id(s) (find them with list_projects). Nothing was changed.');
    if (!caps.hq && !caps.accountInvitations) {
      throw new NoHqProjectError(
        `${caps.productName} has no HQ and no account-level invitations: people are invited through a project. Give project_id ` +
          '(list_projects lists them; pick one everyone should see). Nothing was changed.',
      );
    }
    const hq = caps.hq ? await findHq(ctx, signal) : undefined;
    return hq ? [hq] : [];
  }
  const projects: Project[] = [];
  for (const id of ids) projects.push(await projectById(ctx, id, signal));
  projects.forEach(refuseGrantIntoTrash);
  if (req.asClient) {
    const off = projects.filter((p) => p.clients_enabled === false);
    if (off.length && !caps.clientSwitch) {
      throw new InvalidInputError(
        `${off.map((p) => `${p.name} (${p.id})`).join(', ')} ${off.length === 1 ? 'is not a client project' : 'are not client projects'}, and ${caps.productName}'s API cannot ` +
          'make one: do that in Basecamp (project settings), or pick a client project (list_projects shows [clients]). Nothing was changed.',
      );
    }
    if (off.length && !req.enableClients) {
      throw new InvalidInputError(
        `Clients are off on ${off.map((p) => `${p.name} (${p.id})`).join(', ')}. Nothing was changed. Pass enable_clients: true to turn ` +
          'them on first (Basecamp applies its default client visibility), or turn them on in the project settings in Basecamp.',
      );
    }
  }
  return projects;
}

/** The people already on the account with these addresses, each with whether they are a client (see client-status.ts). */
async function existingPeople(ctx: ToolServices, people: NewPerson[], signal: AbortSignal): Promise<Map<string, Person>> {
  const found = await ctx.directory.findManyByEmail(people.map((p) => p.email_address), signal).catch((error: unknown) => {
    // Whether an address is new, or a client's, decides what is sent: where Basecamp hides addresses it cannot be told.
    if (!(error instanceof EmailsHiddenError)) throw error;
    throw new EmailsHiddenError(
      'Basecamp shows other people\'s email addresses only to admins and owners, and the signed-in person is neither, so whether ' +
        `${error.addresses.join(', ')} ${error.addresses.length === 1 ? 'is' : 'are'} already on the account (or a client there) cannot be told, ` +
        'and an invitation would be a guess. Nobody was invited; nothing was changed. Sign in as an admin or owner to invite people; ' +
        'to give someone already on the account access, use update_project_access with their id.',
      { cause: error },
    );
  });
  const known = await withClientStatus(ctx, [...found.values()], signal);
  const byId = new Map(known.map((p) => [p.id, p]));
  return new Map([...found].map(([email, p]) => [email, byId.get(p.id) ?? p]));
}

async function inviteTeam(ctx: ToolServices, prepared: PreparedInvite, signal: AbortSignal): Promise<InviteOutcome> {
  const { unique: people, projects, existing, req } = prepared;
  // Where the product has account-level invitations, one request for the batch; elsewhere through the projects.
  const caps = await ctx.api.capabilities(signal);
  let enrolled: Awaited<ReturnType<typeof ctx.api.enrollPeople>> = 'unavailable';
  try {
    if (caps.accountInvitations) {
      enrolled = await ctx.api.enrollPeople({ people, ...(projects.length ? { project_ids: projects.map((p) => p.id) } : {}), notify: req.notify }, signal);
    }
  } catch (error) {
    // Enrollments are all-or-nothing: nobody was invited. Each row says so, the rows Basecamp named say why.
    const named = refusedRows(error instanceof BasecampError ? error.rows : undefined);
    const results = people.map((p, index) => ({ email_address: p.email_address, status: 'failed' as const, error: named.get(index) ?? `Not invited: ${messageOf(error)}` }));
    throw stoppedWithRows(error, results, projects, 'enrollment');
  } finally {
    ctx.directory.invalidate();
  }
  if (enrolled !== 'unavailable') {
    const results: InviteRow[] = enrolled.enrolled.map(({ person, status }) => ({ email_address: '', status, person }));
    return { results, projects: await readBackEnrollment(ctx, projects, results, enrolled.requestId, signal), via: 'enrollment', notes: [] };
  }

  // No enrollments on this account: through a project's users.json, the HQ when none was named.
  if (projects.length === 0) {
    throw new NoHqProjectError(
      'This account has no HQ project (it is turned off, or the signed-in person cannot see it) and no account-level ' +
        `invitations, and ${caps.productName} can add people only through a project. Pass project_id (find one with list_projects). Nothing was changed.`,
    );
  }
  const notes = req.notify ? [] : ['notify: false could not be honoured: this account has no account-level invitations, and Basecamp emails everyone a project invitation creates.'];
  return { ...(await throughProjects(ctx, people, projects, existing, 'team', signal)), via: 'project', notes };
}

/**
 * Who each project really has after an enrollment: a 201 does not prove access, since project ids the caller
 * cannot manage are skipped silently. A list read only in part proves who is on the project, not who is not:
 * the others are `unconfirmed`, never `not_granted`. A read that fails, after the people were enrolled, is
 * outcome_unknown carrying what was done (who was created, who was already there, which projects are unconfirmed).
 */
async function readBackEnrollment(ctx: ToolServices, projects: Project[], results: InviteRow[], requestId: string | undefined, signal: AbortSignal): Promise<ProjectOutcome[]> {
  const ids = results.filter((r) => r.status !== 'failed').map((r) => r.person!.id);
  const outcomes: ProjectOutcome[] = [];
  for (const [n, project] of projects.entries()) {
    let members;
    try {
      members = await ctx.api.listProjectPeople(project.id, signal);
    } catch (error) {
      const unread = projects.slice(n).map((p) => ({ ...skipped(p, []), unconfirmed: ids }));
      throw readBackFailed(error, { results, projects: [...outcomes, ...unread], via: 'enrollment', notes: [] }, project, requestId);
    }
    const on = new Set(members.items.map((p) => p.id));
    const outcome = outcomeFor(project, ids.filter((id) => on.has(id)), members.truncated ? [] : ids.filter((id) => !on.has(id)));
    const unknown = members.truncated ? ids.filter((id) => !on.has(id)) : [];
    if (unknown.length) {
      const why = `Could not read the people of ${project.name} to the end (${members.truncated}), so whether ${unknown.length === 1 ? 'one person' : `${unknown.length} people`} got access there is unknown (unconfirmed: ${unknown.join(', ')}); check with list_people project_id=${project.id}.`;
      outcomes.push({ ...outcome, unconfirmed: unknown, warning: [outcome.warning, why].filter(Boolean).join(' ') });
    } else outcomes.push(outcome);
  }
  return outcomes;
}

/** The enrollment went through but a project's people could not be read back: what was done, and what is not known. */
function readBackFailed(error: unknown, outcome: InviteOutcome, project: Project, requestId: string | undefined): InviteStopped {
  const who = (status: InviteStatus) => outcome.results.filter((r) => r.status === status).map((r) => `${r.person!.name} <${r.person!.email_address ?? r.email_address}> (${r.person!.id})`);
  const created = who('created');
  const existing = who('existing');
  const done = [created.length && `created ${created.join(', ')}`, existing.length && `already on the account ${existing.join(', ')}`].filter(Boolean).join('; ');
  const unconfirmed = outcome.projects.filter((p) => p.unconfirmed).map((p) => `${p.name} (${p.id})`);
  const unknown = new OutcomeUnknownError(
    `Basecamp took the invitation (POST /account/enrollments/people.json): ${done}. But the people of ${project.name} could not be read back ` +
      `(${messageOf(error)}), so whether they got access to ${unconfirmed.join(', ')} is unknown. They are on the account: do not invite them again; ` +
      `check with list_people project_id=${project.id}.`,
    { method: 'POST', path: '/account/enrollments/people.json', requestId },
    { cause: error },
  );
  return new InviteStopped(unknown, outcome);
}

async function inviteClients(ctx: ToolServices, prepared: PreparedInvite, signal: AbortSignal): Promise<InviteOutcome> {
  const { unique: people, projects, existing, req } = prepared;
  const notes = req.notify ? [] : ['notify: false could not be honoured: Basecamp emails every client it invites.'];
  // Only now, with every row known to be sendable, are clients turned on where they are off.
  const turnedOn: Project[] = [];
  try {
    for (const project of projects) {
      if (project.clients_enabled === false) {
        await ctx.api.setClientsEnabled(project.id, true, signal);
        turnedOn.push(project);
      }
    }
    return { ...(await throughProjects(ctx, people, projects, existing, 'client', signal)), via: 'project', notes };
  } catch (error) {
    // What was turned on stays on: say so (the audit trail records each switch too).
    if (turnedOn.length) {
      withNote(error instanceof InviteStopped ? error.cause : error, `Clients had been turned on for ${turnedOn.map(projectLabel).join(', ')} before this failed; they stay on (turn them off in the project's settings in Basecamp if no client should be there).`);
    }
    throw error;
  } finally {
    ctx.directory.invalidate();
  }
}

/**
 * The first project creates the new people and grants the existing ones; the others grant everyone. A failed
 * first write fails every row still open (Basecamp's creates are all-or-nothing); a failed later one leaves
 * that project in not_granted, with why.
 */
async function throughProjects(
  ctx: ToolServices,
  people: NewPerson[],
  projects: Project[],
  existing: Map<string, Person>,
  membership: Membership,
  signal: AbortSignal,
): Promise<Pick<InviteOutcome, 'results' | 'projects'>> {
  const known = (p: NewPerson) => existing.get(normalEmail(p.email_address));
  const outcomes: ProjectOutcome[] = [];
  const results: (InviteRow | undefined)[] = people.map(() => undefined);
  try {
    for (const [n, project] of projects.entries()) {
      const first = n === 0;
      const grantIds = first ? people.flatMap((p) => known(p)?.id ?? []) : results.flatMap((r) => (r && r.status !== 'failed' ? [r.person!.id] : []));
      const create = first ? people.filter((p) => !known(p)) : [];
      if (!grantIds.length && !create.length) {
        outcomes.push(skipped(project, []));
        continue;
      }
      let answer;
      try {
        answer = await ctx.api.updateProjectPeople(project.id, { grant: grantIds, create }, membership, signal);
      } catch (error) {
        if (!first) {
          outcomes.push({ ...skipped(project, grantIds), warning: `Not granted: ${messageOf(error)}` });
          continue;
        }
        const why = messageOf(error);
        people.forEach((p, i) => (results[i] ??= { email_address: p.email_address, status: 'failed', error: why }));
        throw stoppedWithRows(error, results as InviteRow[], projects, 'project');
      }
      const byEmail = new Map(answer.granted.flatMap((p) => (p.email_address ? [[normalEmail(p.email_address), p] as const] : [])));
      const grantedIds = new Set(answer.granted.map((p) => p.id));
      if (first) {
        people.forEach((p, i) => {
          if (results[i]) return;
          const was = known(p);
          const got = was ? (grantedIds.has(was.id) ? was : undefined) : byEmail.get(normalEmail(p.email_address));
          results[i] = got
            ? { email_address: p.email_address, status: was ? 'existing' : 'created', person: got }
            : { email_address: p.email_address, status: 'failed', ...(was ? { person: was } : {}), error: `Basecamp left ${p.email_address} out of its answer: not invited.` };
        });
      }
      // Who this write was for: the people granted, and on the first project those it created.
      const sent = first ? [...grantIds, ...results.flatMap((r) => (r?.status === 'created' ? [r.person!.id] : []))] : grantIds;
      outcomes.push(outcomeFor(project, sent.filter((id) => grantedIds.has(id)), sent.filter((id) => !grantedIds.has(id))));
    }
  } finally {
    ctx.directory.invalidate();
  }
  return { results: results as InviteRow[], projects: outcomes };
}

/** Why Basecamp refused each row of a per-row 422 (enrollments: by position in `people`), by that position. */
function refusedRows(rows: RowRefusal[] | undefined): Map<number, string> {
  return new Map((rows ?? []).flatMap((r) => (r.index === undefined ? [] : [[r.index, `Refused by Basecamp: ${r.message}. Nobody in the batch was invited (Basecamp takes all or none).`] as const])));
}

function outcomeFor(project: Project, granted: number[], notGranted: number[]): ProjectOutcome {
  const warning = granted.length ? grantWarning(project) : undefined;
  return { id: project.id, name: project.name, granted, not_granted: notGranted, ...(warning ? { warning } : {}) };
}

const skipped = (project: Project, ids: number[]): ProjectOutcome => ({ id: project.id, name: project.name, granted: [], not_granted: ids });

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A write that failed after rows were known: the failure, and every row's outcome so far. Only sendInvite catches it,
 * and gives the tool the failure itself, carrying the rows in the tool's shape.
 */
class InviteStopped extends Error {
  constructor(
    override readonly cause: unknown,
    readonly outcome: InviteOutcome,
  ) {
    super('an invitation stopped part-way');
  }
}

/** A failure of the first write, with every row's outcome: nobody was invited. */
function stoppedWithRows(error: unknown, results: InviteRow[], projects: Project[], via: InviteOutcome['via']): InviteStopped {
  return new InviteStopped(error, { results, projects: projects.map((p) => skipped(p, [])), via, notes: [] });
}
