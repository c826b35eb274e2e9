import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';
import { isMaskedEmail } from '../../basecamp/records.js';

/** The parameters tools share, with the descriptions models read. */
export const personId = z.number().int().positive().describe('A Basecamp person id (from list_people).');
export const projectId = z.number().int().positive().describe('A Basecamp project id (from list_projects).');
/**
 * Deliberately lenient: Basecamp holds addresses a strict RFC/HTML pattern refuses (`jän@acme.example`,
 * `a!b@x.example`, `x@münchen.de`). Refused only: no `@`, an empty local or domain part, more than one `@`
 * (quoted local parts are not supported), whitespace or control characters, more than 254 characters.
 * The pattern is published as JSON Schema: plain escapes only (no \p{…}, no flags) so every client's regex engine reads it alike.
 *
 * A masked address (what Basecamp shows non-admins of other people's addresses, `q••••••••••@••••.•••••••`) passes
 * this pattern but is never an address: every argument is checked by refuseMaskedAddresses before anything is sent.
 * Masked means (isMaskedEmail in src/basecamp/records.ts): a bullet-like mask character anywhere (U+2022 •, U+2023,
 * U+2043, U+2219, U+25CF, U+25E6), or a `*` in the domain, which no domain name has. A `*` in the local part is legal
 * (`a*b@acme.example`) and accepted; so is U+00B7 (·), which Catalan domains use.
 */
export const email = z
  .string()
  .max(254)
  .regex(/^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s\u0000-\u001f\u007f-\u009f]+$/, 'must be an email address: local@domain, one @, no spaces or control characters')
  .describe('An email address.');

/**
 * Refuses (invalid_input) a masked address in any argument that is shaped like an address: as a person to find,
 * grant, revoke, offboard, invite or filter by, a mask would match whoever shares it, and sent to Basecamp it would
 * be invited as a new address. Walks every argument, so no tool can forget it. Runs before any request.
 */
export function refuseMaskedAddresses(args: unknown): void {
  if (typeof args === 'string') {
    if (isMaskedEmail(args) && email.safeParse(args).success) {
      throw new InvalidInputError(
        `${args} is a hidden (masked) address, not an address: Basecamp shows other people's email addresses in full only to ` +
          'admins and owners (and to the person themselves), and masks them for everyone else, so many people can share one mask. ' +
          'Nothing was sent. Use the person\'s id instead (list_people and get_person show ids).',
      );
    }
  } else if (Array.isArray(args)) args.forEach(refuseMaskedAddresses);
  else if (typeof args === 'object' && args !== null) Object.values(args).forEach(refuseMaskedAddresses);
}

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
