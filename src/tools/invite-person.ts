import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { InvalidInputError } from '../errors.js';
import { UpstreamError } from '../basecamp/errors.js';
import { defineTool, type ToolContext } from './lib/define.js';
import { invite } from './lib/invitations.js';
import { email, projectId } from './lib/params.js';
import { compactPerson, nameWithEmail, toCompactPerson } from './lib/shapes.js';

/**
 * Invites in flight, per normalised email: a second invite for the same address waits for the first, then
 * finds the person it created (created: false) instead of creating them again. Per process only: across a
 * fleet, Basecamp's own de-duplication by email is what prevents a second person.
 */
const invitesInFlight = new Map<string, Promise<unknown>>();

async function oneInviteAtATime<T>(emailAddress: string, work: () => Promise<T>): Promise<T> {
  const key = normalEmail(emailAddress);
  const mine = (invitesInFlight.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
  const settled = mine.catch(() => undefined);
  invitesInFlight.set(key, settled);
  try {
    return await mine;
  } finally {
    if (invitesInFlight.get(key) === settled) invitesInFlight.delete(key);
  }
}

export const invitePerson = defineTool({
  name: 'invite_person',
  title: 'Invite a person',
  description:
    'Invite someone to Basecamp by name and email. Without project_id they are invited to the account (with access to ' +
    'the company HQ when there is one); with project_id, to that project. If someone with that email is already on the ' +
    'account, they are given access instead (created: false): no duplicate is made and calling again is safe. New people ' +
    'join as team members; as_client: true invites a client to project_id instead (clients see only what is shared with ' +
    'them). Basecamp emails new people an invitation. A trashed project is refused; an archived one works, read-only for ' +
    'them (warning says so). For several people at once use invite_people.',
  inputSchema: {
    name: z.string().trim().min(1).max(200).describe('Full name.'),
    email_address: email.describe('Their email address; Basecamp sends the invitation there.'),
    title: z.string().trim().min(1).max(200).optional().describe('Job title.'),
    company_name: z.string().trim().min(1).max(200).optional().describe('Their company (created in Basecamp if new).'),
    project_id: projectId.optional().describe('Project to add them to (default: the company HQ). Required with as_client.'),
    as_client: z.boolean().optional().describe('true: invite them as a client of project_id.'),
    enable_clients: z.boolean().optional().describe('With as_client: turn clients on first if they are off on the project.'),
  },
  outputSchema: {
    person: compactPerson,
    created: z.boolean().describe('true: a new person was added to the account; false: an existing person got access.'),
    project_id: z.number().nullable().describe('The project they got access to; null: invited to the account only (no HQ).'),
    project_name: z.string().nullable(),
    warning: z.string().optional().describe('Set when the project is archived (read-only for them), access was not granted, or the name could not be sent (Basecamp 2).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (args.as_client && args.project_id === undefined) throw new InvalidInputError('as_client: true needs project_id: clients are invited to a project. Find one with list_projects.');
    if (args.enable_clients && !args.as_client) throw new InvalidInputError('enable_clients goes with as_client: true.');
  },
  async handler(args, ctx) {
    const newPerson = {
      name: args.name,
      email_address: args.email_address,
      ...(args.title ? { title: args.title } : {}),
      ...(args.company_name ? { company_name: args.company_name } : {}),
    };
    // Who was on the project before, so a repeated invitation says they already had access. Best effort: a project
    // that cannot be read is left to invite(), which says why.
    let before: Set<number> | undefined;
    const outcome = await oneInviteAtATime(args.email_address, async () => {
      before = args.project_id === undefined ? undefined : await membersOf(ctx, args.project_id);
      return invite(
        ctx,
        { people: [newPerson], projectIds: args.project_id === undefined ? [] : [args.project_id], asClient: args.as_client === true, notify: true, enableClients: args.enable_clients },
        // No partial result: the batch shape of a failed write is not this tool's; the message says what happened to the one person.
        ctx.signal,
      );
    });
    const row = outcome.results[0]!;
    const project = outcome.projects[0];
    if (row.status === 'failed' || !row.person) {
      if (row.person) throw new InvalidInputError(`${row.error ?? 'Not invited.'} Nothing was changed.`);
      throw new UpstreamError(
        `Basecamp accepted the request but did not list ${args.email_address} among the people it invited or granted ` +
          `(${row.error ?? 'no reason given'}). Check with get_person (email) before trying again.`,
      );
    }
    // Unconfirmed (the project's people could not be read to the end) is not "not granted": its warning says so.
    const notGranted = project && project.granted.length === 0 && !project.unconfirmed?.length ? `Basecamp did not give them access to ${project.name}; check the project's people in Basecamp.` : undefined;
    const warning = [project?.warning, notGranted, ...outcome.notes].filter(Boolean).join(' ') || undefined;
    const created = row.status === 'created';
    const where = project ? project.name : 'the account';
    const hadAccess = !created && project !== undefined && before?.has(row.person.id) === true;
    const done = created
      ? `Invited ${nameWithEmail({ name: row.person.name, email_address: args.email_address })}${args.as_client ? ' as a client' : ''} to ${where}; Basecamp emails the invitation.`
      : hadAccess
        ? `${row.person.name} was already on the account and already had access to ${where}: nothing changed.`
        : `${row.person.name} was already on the account; gave them access to ${where}.`;
    return {
      structured: {
        person: toCompactPerson(row.person),
        created,
        project_id: project?.id ?? null,
        project_name: project?.name ?? null,
        ...(warning ? { warning } : {}),
      },
      summary: warning ? `${done} WARNING: ${warning}` : done,
    };
  },
});

/** The ids on a project now (fresh), or undefined when it cannot be read. */
async function membersOf(ctx: ToolContext, projectId: number): Promise<Set<number> | undefined> {
  try {
    return new Set((await ctx.directory.projectPeople(projectId, { signal: ctx.signal, fresh: true })).items.map((p) => p.id));
  } catch {
    return undefined;
  }
}
