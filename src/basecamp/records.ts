import { z } from 'zod';
import { UpstreamError } from './errors.js';
import type { Account, Person, Project } from './types.js';

/**
 * Basecamp's records as the tools use them. Only `id` and `name` are guaranteed: a record without them is
 * refused as an `upstream` failure (not a bug here, which is what a TypeError deep in a tool would be
 * reported as). An optional field of the wrong type is dropped, as if Basecamp had not sent it. Other
 * fields pass through untouched.
 */
const optional = <T extends z.ZodType>(type: T) => type.nullish().catch(undefined);

/**
 * Characters that stand in for hidden ones in a masked address (`q••••••••••@••••.•••••••`): bullets and the
 * like. None of them is ever part of a real address (IDNA disallows them in domains; no mail system issues them).
 * U+00B7 (middle dot) is NOT among them: Catalan domains use it (`l·l`).
 */
const MASK_CHARACTERS = /[\u2022\u2023\u2043\u2219\u25cf\u25e6]/;

/**
 * Whether a value is a masked address, not an address: Basecamp shows other people's `email_address` in full only
 * to admins and owners (and to the person themselves); everyone else gets a mask, and many people share one. The
 * rule: any bullet-like mask character (U+2022 •, U+2023, U+2043, U+2219, U+25CF, U+25E6), or a `*` in the domain
 * (domain names never contain `*`). A `*` in the local part is legal (`a*b@acme.example`) and is NOT a mask.
 */
export function isMaskedEmail(value: string): boolean {
  if (MASK_CHARACTERS.test(value)) return true;
  const at = value.lastIndexOf('@');
  return at >= 0 && value.slice(at + 1).includes('*');
}

/**
 * What every tool sees of a person, decided once where the record enters:
 * - a masked address is no address: `email_address: null` and `email_hidden: true`, so no look-up ever matches
 *   a mask, no query matches one, and nothing shows one as if it were usable;
 * - `personable_type: "Client"` (Basecamp's clientside contacts, sent with `client: false`) is a client: `client: true`,
 *   so every filter, route (client_users.json) and refusal treats them as one.
 */
function asSeen<T extends { email_address?: string | null; personable_type?: string | null; client?: boolean | null }>(p: T): T {
  const hidden = typeof p.email_address === 'string' && isMaskedEmail(p.email_address);
  const client = p.personable_type === 'Client' && p.client !== true;
  if (!hidden && !client) return p;
  return { ...p, ...(hidden ? { email_address: null, email_hidden: true } : {}), ...(client ? { client: true } : {}) };
}

const personRecord = z.looseObject({
  id: z.number(),
  name: z.string(),
  email_address: optional(z.string()),
  title: optional(z.string()),
  personable_type: optional(z.string()),
  admin: optional(z.boolean()),
  owner: optional(z.boolean()),
  client: optional(z.boolean()),
  employee: optional(z.boolean()),
  company: optional(z.object({ id: z.number(), name: z.string() })),
  created_at: optional(z.string()),
  updated_at: optional(z.string()),
}).transform(asSeen);

const projectRecord = z.looseObject({
  id: z.number(),
  name: z.string(),
  description: optional(z.string()),
  purpose: optional(z.string()),
  status: optional(z.string()),
  app_url: optional(z.string()),
  clients_enabled: optional(z.boolean()),
});

const accountRecord = z.looseObject({ id: z.number(), name: z.string() });

function usable<T>(schema: z.ZodType, value: unknown, what: string, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as T;
  const brief = JSON.stringify(value)?.slice(0, 120) ?? String(value);
  throw new UpstreamError(`Basecamp sent ${what} without a usable id and name in ${where} (${brief}). Try again later; if it persists, Basecamp is answering wrongly.`);
}

export const asPerson = (value: unknown, where: string): Person => usable<Person>(personRecord, value, 'a person', where);
export const asProject = (value: unknown, where: string): Project => usable<Project>(projectRecord, value, 'a project', where);
export const asAccount = (value: unknown, where: string): Account => usable<Account>(accountRecord, value, 'an account', where);

/** Whether a value is a usable person record (for answers where a bad one means "outcome unknown", not a failure). */
export const isPersonRecord = (value: unknown): boolean => personRecord.safeParse(value).success;
