import { ids, isEmail, parseBody, Refusal, type Reply, type SandboxRequest } from '../shared/http-kit.js';
import { bc3Route, writableProject } from './context.js';
import { addPerson, personWithEmail } from './people.js';
import { isClient, type SandboxData, type SandboxPerson, type SandboxProject } from './seed.js';

/**
 * Clients on a project, as docs/basecamp-api.md ("Clients") records them:
 * PUT /projects/{id}/people/client_users.json and POST / DELETE /projects/{id}/client_enablement.json.
 */
export const clientRoutes = [
  bc3Route('PUT', '/projects/:id/people/client_users', (c, { id }) => updateProjectClients(c.data, id, c.me!, c.req)),
  bc3Route('POST', '/projects/:id/client_enablement', (c, { id }) => setClientEnablement(c.data, id, c.me!, c.req, true)),
  bc3Route('DELETE', '/projects/:id/client_enablement', (c, { id }) => setClientEnablement(c.data, id, c.me!, c.req, false)),
];

/** Only ordinary projects may have clients: never the HQ, never a team. */
const canHaveClients = (project: SandboxProject) => project.purpose === 'topic';

const clientsOn = (data: SandboxData, project: SandboxProject) => [...project.members].filter((id) => isClient(data.people.get(id)));

/**
 * PUT /projects/{id}/people/client_users.json: grant and revoke clients by id, create clients by email.
 * Team members' ids are left out (never made clients, never removed); creates are all-or-nothing (422 naming
 * each bad row) and bounded by the account's client seats (429 without Retry-After, nothing changed).
 */
export function updateProjectClients(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest): Reply {
  const project = writableProject(data, projectId, me, req);
  if (project instanceof Refusal) return project.reply;
  if (!project.clients_enabled) return { status: 403, body: { error: 'Clients are not enabled on this project' } };
  const parsed = parseBody(req);
  if (parsed instanceof Refusal) return parsed.reply;
  const grant = ids(parsed.grant);
  const revoke = ids(parsed.revoke);
  const create: unknown[] = Array.isArray(parsed.create) ? parsed.create : [];
  if (!grant.length && !revoke.length && !create.length) {
    return { status: 422, body: { errors: { base: ['must include at least one of grant, revoke or create'] } } };
  }

  const errors = create.flatMap((row) => {
    const messages = rowErrors(row);
    if (!messages.length) return [];
    const email = (row as { email_address?: unknown } | null)?.email_address;
    return [{ email_address: typeof email === 'string' && email.trim() ? email.trim() : null, messages }];
  });
  if (errors.length) return { status: 422, body: { errors } };

  const rows = create as Record<string, unknown>[];
  // Seats: addresses already on the account take none, and a repeated address counts once.
  const newAddresses = new Set(
    rows.map((c) => String(c.email_address).trim().toLowerCase()).filter((email) => !personWithEmail(data, email)),
  );
  const seatsUsed = [...data.people.values()].filter(isClient).length;
  if (seatsUsed + newAddresses.size > data.clientSeats) {
    // A verdict, not throttling: deliberately no Retry-After.
    return {
      status: 429,
      body: { error: `No client seats left: ${newAddresses.size} new client(s) asked for, ${Math.max(0, data.clientSeats - seatsUsed)} seat(s) free.` },
    };
  }

  const granted = new Map<number, SandboxPerson>();
  const revoked = new Map<number, SandboxPerson>();
  for (const id of grant) {
    const p = data.people.get(id);
    if (!isClient(p)) continue;
    project.members.add(p.id);
    granted.set(p.id, p);
  }
  for (const c of rows) {
    const p = personWithEmail(data, String(c.email_address)) ?? addPerson(data, c, true);
    // An address that belongs to a team member (or anyone else not a client) is left out.
    if (!isClient(p)) continue;
    project.members.add(p.id);
    granted.set(p.id, p);
  }
  for (const id of revoke) {
    const p = data.people.get(id);
    if (!isClient(p)) continue;
    project.members.delete(p.id);
    revoked.set(p.id, p);
  }
  return { status: 200, body: { granted: [...granted.values()], revoked: [...revoked.values()] } };
}

/** What is wrong with one `create` row (nothing: an empty list). */
function rowErrors(row: unknown): string[] {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return ["Email address can't be blank"];
  const c = row as Record<string, unknown>;
  const messages: string[] = [];
  if (c.email_address === undefined || c.email_address === null || (typeof c.email_address === 'string' && !c.email_address.trim())) {
    messages.push("Email address can't be blank");
  } else if (typeof c.email_address !== 'string' || !isEmail(c.email_address.trim())) {
    messages.push('Email address is invalid');
  }
  for (const field of ['name', 'title', 'company_name'] as const) {
    if (c[field] !== undefined && c[field] !== null && typeof c[field] !== 'string') messages.push(`${label(field)} must be text`);
  }
  return messages;
}

const label = (field: string) => field.charAt(0).toUpperCase() + field.slice(1).replace('_', ' ');

/**
 * POST / DELETE /projects/{id}/client_enablement.json: turn clients on (403 for the HQ and teams) or off
 * (403 while any client remains on the project). Both idempotent; same 404/403 rules as users.json.
 */
export function setClientEnablement(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest, enable: boolean): Reply {
  const project = writableProject(data, projectId, me, req, false);
  if (project instanceof Refusal) return project.reply;
  if (enable && !canHaveClients(project)) return { status: 403, body: { error: `A ${project.purpose === 'team' ? 'team' : 'HQ'} cannot have clients` } };
  if (!enable) {
    const remaining = clientsOn(data, project).length;
    if (remaining) return { status: 403, body: { error: `Remove the project's ${remaining} client(s) before turning clients off` } };
  }
  if (project.clients_enabled !== enable) {
    project.clients_enabled = enable;
    project.updated_at = new Date().toISOString();
  }
  return { status: 200, body: { clients_enabled: project.clients_enabled } };
}
