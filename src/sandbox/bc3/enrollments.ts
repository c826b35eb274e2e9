import { isEmail, parseBody, Refusal, requireJson, type Reply, type SandboxRequest } from '../shared/http-kit.js';
import { bc3Route, canManagePeople } from './context.js';
import { addPerson, personWithEmail } from './people.js';
import { isClient, type SandboxData, type SandboxPerson } from './seed.js';

/** Served unless the sandbox is told the account has no enrollments (then 404, as on accounts without them). */
export const enrollmentRoutes = [bc3Route('POST', '/account/enrollments/people', (c) => enrollPeople(c.data, c.me!, c.req))];

/**
 * POST /account/enrollments/people.json, as docs/basecamp-api.md ("Account-level invites") records it:
 * invite people to the account in bulk. 201 with one entry per requested person, in request order, each the
 * full person plus `status: "created" | "existing"`; an existing address (any case) is re-enrolled, not
 * duplicated, and is not emailed again. `project_ids` the caller cannot see or manage are skipped silently.
 */
export function enrollPeople(data: SandboxData, me: SandboxPerson, req: SandboxRequest): Reply {
  const notJson = requireJson(req);
  if (notJson) return notJson;
  if (!canManagePeople(me)) return { status: 403, body: { error: 'You are not allowed to invite people to this account' } };
  const parsed = parseBody(req);
  if (parsed instanceof Refusal) return parsed.reply;
  if (!Array.isArray(parsed.people)) return { status: 422, body: { error: 'people must be a list of people to invite' } };
  if (!parsed.people.length) return { status: 422, body: { error: 'people must name at least one person' } };
  if (parsed.project_ids !== undefined && parsed.project_ids !== null && !Array.isArray(parsed.project_ids)) {
    return { status: 422, body: { error: 'project_ids must be a list of project ids' } };
  }
  if (parsed.notify !== undefined && parsed.notify !== null && typeof parsed.notify !== 'boolean') {
    return { status: 422, body: { error: 'notify must be true or false' } };
  }
  const entries: unknown[] = parsed.people;
  const errors = entries.flatMap((entry, index) => {
    const messages = entryErrors(entry);
    return messages.length ? [{ index, messages }] : [];
  });
  if (errors.length) return { status: 422, body: { errors } };
  const people = entries as Record<string, unknown>[];

  // The user limit: how many team members the account may have; a repeated new address counts once.
  const newAddresses = new Set(people.map((p) => String(p.email_address).trim().toLowerCase()).filter((email) => !personWithEmail(data, email)));
  if (data.userLimit !== undefined && newAddresses.size > 0) {
    const members = [...data.people.values()].filter((p) => p.personable_type === 'User' && !p.client).length;
    if (members + newAddresses.size > data.userLimit) return { status: 507, body: { error: 'The user limit for this account has been reached.' } };
  }

  // Projects this caller can see (is on) and manage (not in the trash); the rest are skipped without a word.
  const projects = (Array.isArray(parsed.project_ids) ? parsed.project_ids : [])
    .map(Number)
    .flatMap((id) => data.projects.get(id) ?? [])
    .filter((project) => project.members.has(me.id) && project.status !== 'trashed');
  const notify = parsed.notify !== false;

  const answer = people.map((entry) => {
    const existing = personWithEmail(data, String(entry.email_address));
    const person = existing ?? addPerson(data, entry);
    if (!existing && notify && person.email_address) data.invitationsSent.push(person.email_address);
    for (const project of projects) {
      // A client only joins projects that have clients enabled.
      if (isClient(person) && !project.clients_enabled) continue;
      project.members.add(person.id);
    }
    return { ...person, status: existing ? 'existing' : 'created' };
  });
  return { status: 201, body: answer };
}

/** What is wrong with one person to invite (nothing: an empty list). */
function entryErrors(entry: unknown): string[] {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return ["Name can't be blank", "Email address can't be blank"];
  const e = entry as Record<string, unknown>;
  const messages: string[] = [];
  if (e.name !== undefined && e.name !== null && typeof e.name !== 'string') messages.push('Name must be text');
  else if (typeof e.name !== 'string' || !e.name.trim()) messages.push("Name can't be blank");
  if (e.email_address === undefined || e.email_address === null || (typeof e.email_address === 'string' && !e.email_address.trim())) {
    messages.push("Email address can't be blank");
  } else if (typeof e.email_address !== 'string' || !isEmail(e.email_address.trim())) {
    messages.push('Email address is invalid');
  }
  for (const field of ['title', 'company_name'] as const) {
    if (e[field] !== undefined && e[field] !== null && typeof e[field] !== 'string') messages.push(`${field === 'title' ? 'Title' : 'Company name'} must be text`);
  }
  return messages;
}
