import { z } from 'zod';

/** The parameters tools share, with the descriptions models read. */
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

export const limit = z.number().int().min(1).max(500).optional().describe('Items per page of this result (1-500, default 100).');
export const cursor = z.string().max(500).optional().describe('next_cursor from the previous call, to get the next page.');

export const detail = z
  .enum(['compact', 'full'])
  .optional()
  .describe('compact (default): one line per item in the text; full: the structured JSON in the text too.');
export const planToken = z
  .string()
  .min(1)
  .max(4000)
  .optional()
  .describe('The plan_token a dry run (or a confirmation_required answer) gave: runs exactly that plan where no human can be asked.');
export const company = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .optional()
  .describe('Case-insensitive substring of the company name; people without a company never match.');
