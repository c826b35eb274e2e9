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
});

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
