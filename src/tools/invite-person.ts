import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { UpstreamError } from '../basecamp/errors.js';
import type { NewPerson, Person, Project } from '../basecamp/types.js';
import type { ToolServices } from './define.js';
import { defineTool } from './define.js';
import { grantWarning, hqProject, projectById, refuseGrantIntoTrash } from './target-project.js';
import { email, projectId } from './params.js';
import { compactPerson, toCompactPerson } from './shapes.js';

/**
 * Invites in flight, per normalised email: a second invite for the same address waits for the first, then
 * finds the person it created (created: false) instead of creating them again. Per process only: across a
 * fleet, Basecamp's own de-duplication of `create` by email is what prevents a second person.
 */
const invitesInFlight = new Map<string, Promise<unknown>>();

async function oneInviteAtATime<T>(emailAddress: string, invite: () => Promise<T>): Promise<T> {
  const key = normalEmail(emailAddress);
  const mine = (invitesInFlight.get(key) ?? Promise.resolve()).catch(() => undefined).then(invite);
  const settled = mine.catch(() => undefined);
  invitesInFlight.set(key, settled);
  try {
    return await mine;
  } finally {
    if (invitesInFlight.get(key) === settled) invitesInFlight.delete(key);
  }
}

interface Invited {
  person: Person | undefined;
  created: boolean;
}

/** Grant the existing person with this email, or create them; the directory is re-read when the cached copy misses. */
async function grantOrCreate(ctx: ToolServices, project: Project, newPerson: NewPerson, signal: AbortSignal): Promise<Invited> {
  const existing = await ctx.directory.findByEmail(newPerson.email_address, signal);
  try {
    if (existing) {
      const result = await ctx.api.updateProjectPeople(project.id, { grant: [existing.id] }, signal);
      return { person: result.granted.find((p) => p.id === existing.id), created: false };
    }
    const result = await ctx.api.updateProjectPeople(project.id, { create: [newPerson] }, signal);
    const wanted = normalEmail(newPerson.email_address);
    return { person: result.granted.find((p) => p.email_address && normalEmail(p.email_address) === wanted), created: true };
  } finally {
    ctx.directory.invalidate();
  }
}

export const invitePerson = defineTool({
  name: 'invite_person',
  title: 'Invite a person',
  description:
    'Invite someone to Basecamp by name and email, giving them access to a project. Basecamp 4 can only add people ' +
    'through a project: without project_id they are invited through the company HQ. If someone with that email is ' +
    'already on the account, they are given access to the project instead (created: false): no duplicate is made and ' +
    'calling again is safe. New people join as team members (not clients); Basecamp emails them an invitation. ' +
    'A trashed project is refused; an archived one works, read-only for them (the result says so in warning).',
  inputSchema: {
    name: z.string().trim().min(1).max(200).describe('Full name.'),
    email_address: email.describe('Their email address; Basecamp sends the invitation there.'),
    title: z.string().trim().min(1).max(200).optional().describe('Job title.'),
    company_name: z.string().trim().min(1).max(200).optional().describe('Their company (created in Basecamp if new).'),
    project_id: projectId.optional().describe('Project to add them to (default: the company HQ).'),
  },
  outputSchema: {
    person: compactPerson,
    created: z.boolean().describe('true: a new person was added to the account; false: an existing person got access.'),
    project_id: z.number(),
    project_name: z.string(),
    warning: z.string().optional().describe('Set when the project is archived: they can see it, read-only.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, ctx) {
    const { signal } = ctx;
    const project = args.project_id !== undefined ? await projectById(ctx, args.project_id, signal) : await hqProject(ctx, signal);
    refuseGrantIntoTrash(project);
    const newPerson: NewPerson = {
      name: args.name,
      email_address: args.email_address,
      ...(args.title ? { title: args.title } : {}),
      ...(args.company_name ? { company_name: args.company_name } : {}),
    };
    const { person, created } = await oneInviteAtATime(args.email_address, () => grantOrCreate(ctx, project, newPerson, signal));
    if (!person) {
      throw new UpstreamError(
        `Basecamp accepted the request but did not list ${args.email_address} among the people granted access to ` +
          `${project.name}. Check with get_person (email) or list_people (project_id ${project.id}) before trying again.`,
      );
    }
    const warning = grantWarning(project);
    const done = created
      ? `Invited ${person.name} <${args.email_address}> to ${project.name}; Basecamp emails the invitation.`
      : `${person.name} was already on the account; gave them access to ${project.name}.`;
    return {
      structured: { person: toCompactPerson(person), created, project_id: project.id, project_name: project.name, ...(warning ? { warning } : {}) },
      summary: warning ? `${done} WARNING: ${warning}` : done,
    };
  },
});
