import { z } from 'zod';
import type { Person, Project } from '../basecamp/types.js';

/** The shapes tools answer with: compact records for lists and results, the full record for get_person. */
export const compactPerson = z.object({
  id: z.number(),
  name: z.string(),
  email_address: z.string().nullable(),
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

/** A role flag: absent means no (Basecamp 4 leaves defaults out), null means the API does not say. */
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
 * Defaults are left out (a User who is neither owner, admin nor client says nothing about roles).
 */
export function personLine(p: CompactPerson): string {
  const roles = [p.owner && 'owner', p.admin && 'admin', p.client && 'client'].filter(Boolean);
  const tags = [...roles, p.personable_type !== 'User' && p.personable_type].filter(Boolean).join(',');
  return [
    `${p.id} ${nameWithEmail(p.name, p.email_address)}`,
    tags ? ` [${tags}]` : '',
    p.title ? ` · ${p.title}` : '',
    p.company ? ` · ${p.company.name}` : '',
  ].join('');
}

/** `Name <email>`, or the name alone when there is no email or the name is the email (Basecamp 2 names new people so). */
export function nameWithEmail(name: string, email: string | null | undefined): string {
  return email && email.trim().toLowerCase() !== name.trim().toLowerCase() ? `${name} <${email}>` : name;
}

/** One project as a line of text: id, name, and purpose/status when not an ordinary active project, `clients` when clients are on. */
export function projectLine(p: CompactProject): string {
  const tags = [p.purpose && p.purpose !== 'topic' && p.purpose, p.status && p.status !== 'active' && p.status, p.clients_enabled && 'clients']
    .filter(Boolean)
    .join(',');
  return `${p.id} ${p.name}${tags ? ` [${tags}]` : ''}`;
}
