import { z } from 'zod';
import { InvalidInputError } from '../basecamp/errors.js';
import type { Person, Project } from '../basecamp/types.js';

export const personId = z.number().int().positive().describe('A Basecamp person id (from list_people).');
export const projectId = z.number().int().positive().describe('A Basecamp project id (from list_projects).');
/**
 * Deliberately lenient: Basecamp holds addresses a strict RFC/HTML pattern refuses (`jän@acme.example`,
 * `a!b@x.example`, `x@münchen.de`). Refused only: no `@`, an empty local or domain part, more than one `@`
 * (quoted local parts are not supported), whitespace or control characters, more than 254 characters.
 * The pattern is published as JSON Schema: plain escapes only (no \p{…}, no flags) so every client's regex engine reads it alike.
 */
export const email = z
  .string()
  .max(254)
  .regex(/^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f]+$/, 'must be an email address: local@domain, one @, no spaces or control characters')
  .describe('An email address.');

export const compactPerson = z.object({
  id: z.number(),
  name: z.string(),
  email_address: z.string().nullable(),
  title: z.string().nullable(),
  admin: z.boolean(),
  owner: z.boolean(),
  client: z.boolean(),
  employee: z.boolean(),
  personable_type: z.string(),
  company: z.object({ id: z.number(), name: z.string() }).optional(),
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
    owner: p.owner ?? false,
    client: p.client ?? false,
    employee: p.employee ?? false,
    personable_type: p.personable_type ?? 'User',
    ...(p.company ? { company: { id: p.company.id, name: p.company.name } } : {}),
  };
}

export const compactProject = z.object({
  id: z.number(),
  name: z.string(),
  purpose: z.string().nullable(),
  status: z.string().nullable(),
  description: z.string().nullable(),
  app_url: z.string().nullable(),
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
  };
}

export const limit = z.number().int().min(1).max(500).optional().describe('Items per page of this result (1-500, default 100).');
export const cursor = z.string().max(500).optional().describe('next_cursor from the previous call, to get the next page.');

/**
 * Opaque cursors: an offset into the filtered list, bound to the query that made it so a cursor from
 * one listing cannot silently page through another.
 */
export function encodeCursor(offset: number, key: string): string {
  return Buffer.from(JSON.stringify({ o: offset, k: key })).toString('base64url');
}

export function decodeCursor(cursorText: string | undefined, key: string): number {
  if (!cursorText) return 0;
  let parsed: { o?: unknown; k?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursorText, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new InvalidInputError('cursor is not one this server issued; pass next_cursor exactly as returned, or omit it to start over.');
  }
  if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) {
    throw new InvalidInputError('cursor is not one this server issued; pass next_cursor exactly as returned, or omit it to start over.');
  }
  if (parsed.k !== key) {
    throw new InvalidInputError('cursor belongs to a different listing (other filters); repeat the same filters, or omit cursor to start over.');
  }
  return parsed.o;
}

export function page<T>(items: T[], offset: number, size: number, key: string): { slice: T[]; next_cursor: string | null } {
  const slice = items.slice(offset, offset + size);
  const end = offset + slice.length;
  return { slice, next_cursor: end < items.length ? encodeCursor(end, key) : null };
}

export function matchesText(query: string | undefined, ...fields: (string | null | undefined)[]): boolean {
  if (!query) return true;
  const q = query.trim().toLowerCase();
  return fields.some((f) => f?.toLowerCase().includes(q));
}
