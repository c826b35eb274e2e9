import { z } from 'zod';
import type { Person, Project } from '../../basecamp/types.js';
import { oneLine } from '../../one-line.js';

/** The shapes tools answer with: compact records for lists and results, the full record for get_person. */
export const compactPerson = z.object({
  id: z.number(),
  name: z.string(),
  email_address: z.string().nullable(),
  email_hidden: z
    .boolean()
    .optional()
    .describe('true: Basecamp hides this address from the signed-in person (shown only to admins and owners); email_address is null. Use the id.'),
  title: z.string().nullable(),
  admin: z.boolean(),
  owner: z.boolean().nullable().describe('null: this Basecamp\'s API does not say (Basecamp 2).'),
  client: z.boolean().nullable().describe('null: not known here (Basecamp 2 says who is a client only in a project\'s people: list_people project_id).'),
  employee: z.boolean().nullable().describe('null: this Basecamp\'s API does not say (Basecamp 2).'),
  personable_type: z.string(),
  company: z.object({ id: z.number(), name: z.string() }).optional(),
  created_at: z.string().nullable(),
});
export type CompactPerson = z.infer<typeof compactPerson>;

/** The full record as Basecamp sent it (only id and name are guaranteed). */
export const fullPerson = z.looseObject({ id: z.number(), name: z.string() });

export function toCompactPerson(p: Person): CompactPerson {
  return {
    id: p.id,
    name: p.name,
    email_address: p.email_address ?? null,
    ...(p.email_hidden ? { email_hidden: true } : {}),
    title: p.title ?? null,
    admin: p.admin ?? false,
    owner: flag(p.owner),
    client: flag(p.client),
    employee: flag(p.employee),
    personable_type: p.personable_type ?? 'User',
    ...(p.company ? { company: { id: p.company.id, name: p.company.name } } : {}),
    created_at: p.created_at ?? null,
  };
}

/** A role flag: absent means no (Basecamp 3/4/5 leaves defaults out), null means the API does not say. */
const flag = (value: boolean | null | undefined): boolean | null => (value === null ? null : (value ?? false));

export const compactProject = z.object({
  id: z.number(),
  name: z.string(),
  purpose: z.string().nullable(),
  status: z.string().nullable(),
  description: z.string().nullable(),
  app_url: z.string().nullable(),
  clients_enabled: z.boolean().nullable().describe('Whether clients can be given access; null when Basecamp did not say.'),
  is_client_project: z.boolean().optional().describe('Basecamp 2: whether it is a client project (what clients_enabled follows there).'),
});
export type CompactProject = z.infer<typeof compactProject>;

export function toCompactProject(p: Project): CompactProject {
  return {
    id: p.id,
    name: p.name,
    purpose: p.purpose ?? null,
    status: p.status ?? null,
    description: p.description ?? null,
    app_url: p.app_url ?? null,
    clients_enabled: p.clients_enabled ?? null,
    ...(typeof p.is_client_project === 'boolean' ? { is_client_project: p.is_client_project } : {}),
  };
}

/**
 * One person as a line of text: the id first (what every other tool takes), then what tells people apart.
 * Defaults are left out (a User who is neither owner, admin nor client says nothing about roles). Every field
 * Basecamp sent is escaped (oneLine): a name cannot start a line of its own.
 */
export function personLine(p: CompactPerson): string {
  const roles = [p.owner && 'owner', p.admin && 'admin', p.client && 'client'].filter(Boolean);
  // A clientside contact (personable_type Client) is said once, as client.
  const type = p.personable_type !== 'User' && !(p.personable_type === 'Client' && p.client) && oneLine(p.personable_type);
  const tags = [...roles, type].filter(Boolean).join(',');
  return [
    `${p.id} ${nameWithEmail(p)}`,
    tags ? ` [${tags}]` : '',
    p.title ? ` · ${oneLine(p.title)}` : '',
    p.company ? ` · ${oneLine(p.company.name)}` : '',
  ].join('');
}

/** A person's address as text: ` <address>`, ` <email hidden>` where Basecamp masked it, or nothing. */
export function emailText(p: { email_address?: string | null; email_hidden?: boolean }): string {
  if (p.email_address) return ` <${oneLine(p.email_address)}>`;
  return p.email_hidden ? ' <email hidden>' : '';
}

/** `Name <address>` (or `<email hidden>`); the name alone when there is no address or the name is the address (Basecamp 2 names new people so). Escaped. */
export function nameWithEmail(p: { name: string; email_address?: string | null; email_hidden?: boolean }): string {
  const same = !!p.email_address && p.email_address.trim().toLowerCase() === p.name.trim().toLowerCase();
  return `${oneLine(p.name)}${same ? '' : emailText(p)}`;
}

/** One project as a line of text: id, name, and purpose/status when not an ordinary active project, `clients` when clients are on. */
export function projectLine(p: CompactProject): string {
  const tags = [p.purpose && p.purpose !== 'topic' && p.purpose, p.status && p.status !== 'active' && p.status, p.clients_enabled && 'clients']
    .filter(Boolean)
    .map((tag) => oneLine(String(tag)))
    .join(',');
  return `${p.id} ${oneLine(p.name)}${tags ? ` [${tags}]` : ''}`;
}

/** A person in a plan line: name, address when known (and not the name itself), id. */
export function personLabel(p: { id: number; name?: string | null; email_address?: string | null; email_hidden?: boolean }): string {
  return `${nameWithEmail({ ...p, name: p.name ?? `person ${p.id}` })} (id ${p.id})`;
}

/** A project in a plan line: name, status when not active, id. */
export function projectLabel(p: { id: number; name: string; status?: string | null }): string {
  return `${oneLine(p.name)}${p.status && p.status !== 'active' ? ` (${p.status})` : ''} (project ${p.id})`;
}
