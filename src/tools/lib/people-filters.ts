import { z } from 'zod';
import { InvalidInputError, NotSupportedError } from '../../errors.js';
import type { Collection, PageListener } from '../../basecamp/http.js';
import type { Capabilities, Person } from '../../basecamp/types.js';
import type { ToolContext } from './define.js';
import { matchesText } from './listing.js';
import { company, projectId } from './params.js';

/**
 * The people filters list_people and access_report share: who is left out unless asked for, and the filters a
 * product's people listing cannot answer (refused, never silently matching nobody).
 */

/** Left out unless asked for (list_people: by types; access_report: by person_id or email): people already removed, and Basecamp's sample people. */
export const hiddenByDefault = ['Tombstone', 'DummyUser'] as const;

/** A person's type as the filters see it: Basecamp leaves it out for ordinary users. */
export const typeOf = (p: Person): string => p.personable_type ?? 'User';

export const isHiddenByDefault = (p: Person): boolean => hiddenByDefault.some((t) => t.toLowerCase() === typeOf(p).toLowerCase());

/** Filters on what this product's people listing does not say would silently match nobody: say so instead. */
export function refuseUnknowableFilters(args: { role?: string; client?: boolean; project_id?: number; include_removed?: boolean; company?: string }, caps: Capabilities): void {
  refuseCompanyFilter(args.company, caps);
  if (args.include_removed && !caps.removedPeople) {
    throw new NotSupportedError(
      `${caps.productName}'s API cannot list the people removed from the account. Leave out include_removed; types ["Tombstone"] shows the removed people it still lists.`,
    );
  }
  if ((args.role === 'owner' || args.role === 'employee') && !caps.ownerKnown) {
    throw new NotSupportedError(`${caps.productName}'s API does not say who ${args.role === 'owner' ? 'owns the account' : 'is an employee'}; nothing was read. Use role admin, or leave out role.`);
  }
  if ((args.role === 'client' || args.client !== undefined) && !caps.clientsInDirectory && args.project_id === undefined) {
    throw new NotSupportedError(
      `${caps.productName} says who is a client only for a project's people: pass project_id with ${args.role === 'client' ? 'role client' : 'client'} (list_projects shows client projects as [clients]). Nothing was read.`,
    );
  }
}

/** A company filter where people carry no company would match nobody, silently: say so instead. */
export function refuseCompanyFilter(company: string | undefined, caps: Capabilities): void {
  if (company !== undefined && !caps.companiesKnown) {
    throw new NotSupportedError(`${caps.productName}'s API does not say which company a person is from; nothing was read. Leave out company (query matches names and email addresses, e.g. "@globex.example").`);
  }
}

/** Whether a person's company name contains `company` (already lower case); no filter matches everyone. */
export const fromCompany = (p: Person, company: string | undefined): boolean => company === undefined || (p.company?.name.toLowerCase().includes(company) ?? false);

/**
 * The filter parameters of a people listing (list_people, export_people), with the descriptions models read. Each
 * tool puts them in its own input schema; peopleMatching applies them.
 */
export const peopleFilterParams = {
  project_id: projectId.optional().describe('Only people on this project (from list_projects).'),
  query: z.string().trim().min(1).max(200).optional().describe('Case-insensitive substring of name or email.'),
  role: z.enum(['admin', 'owner', 'client', 'employee']).optional().describe('Only people with this role.'),
  company,
  client: z.boolean().optional().describe('true: only clients; false: only people who are not clients.'),
  types: z
    .array(z.string().trim().min(1).max(50))
    .min(1)
    .max(20)
    .optional()
    .describe(
      'Only these personable_type values (case-insensitive; e.g. User, Integration, DummyUser, Outsider, Tombstone, Agent; ' +
        'an unknown value matches nobody). Default: every type except Tombstone and DummyUser.',
    ),
  include_removed: z
    .boolean()
    .optional()
    .describe('true: also list the people already removed from the account (Basecamp 2; admins only). Not with project_id.'),
};

export interface PeopleFilterArgs {
  project_id?: number;
  query?: string;
  role?: 'admin' | 'owner' | 'client' | 'employee';
  company?: string;
  client?: boolean;
  types?: string[];
  include_removed?: boolean;
}

/** What validate checks of the filters before anything is read. */
export function validatePeopleFilters(args: PeopleFilterArgs): void {
  if (args.include_removed && args.project_id !== undefined) {
    throw new InvalidInputError('include_removed lists people removed from the account, who are on no project: leave out project_id, or include_removed.');
  }
}

/** The people a listing's filters select, from the cached directory (or the project's people). */
export interface PeopleMatching {
  /** Everyone read (the account's or the project's people, and the removed ones with include_removed); `truncated` says why not all. */
  all: Collection<Person>;
  /** Those matching every filter, in Basecamp's order. */
  kept: Person[];
  /** Those matching but left out as Tombstone or DummyUser because types was not given. */
  hidden: Person[];
}

/**
 * Reads the people the filters are about (refusing first the filters this product cannot answer) and applies them;
 * `ids`, when given, keeps only those ids. Reads go through the directory cache, with the call's signal; `onPage` is
 * told after each page read from Basecamp (progress on long reads).
 */
export async function peopleMatching(
  ctx: ToolContext,
  args: PeopleFilterArgs,
  { ids, onPage }: { ids?: readonly number[]; onPage?: PageListener } = {},
): Promise<PeopleMatching> {
  const { signal } = ctx;
  refuseUnknowableFilters(args, await ctx.api.capabilities(signal));
  const company = args.company?.toLowerCase();
  const listed = args.project_id !== undefined ? await ctx.directory.projectPeople(args.project_id, { signal, onPage }) : await ctx.directory.people({ signal, onPage });
  const removed = args.include_removed ? await ctx.directory.removedPeople({ signal }) : undefined;
  const cut = [listed.truncated, removed?.truncated && `the removed people: ${removed.truncated}`].filter(Boolean).join('; ');
  const all = removed
    ? { ...listed, items: [...listed.items, ...removed.items.filter((r) => !listed.items.some((p) => p.id === r.id))], truncated: cut || undefined }
    : listed;

  const wanted = ids ? new Set(ids) : undefined;
  const filtered = all.items.filter(
    (p) =>
      matchesText(args.query, p.name, p.email_address) &&
      (!args.role || p[args.role] === true) &&
      fromCompany(p, company) &&
      (args.client === undefined || (p.client ?? false) === args.client) &&
      (!wanted || wanted.has(p.id)),
  );
  const types = args.types?.map((t) => t.toLowerCase());
  const typeSet = new Set(types ?? []);
  // include_removed asks for the removed people (Tombstones): they are not hidden then.
  const defaultHidden = new Set<string>(hiddenByDefault.filter((t) => !(args.include_removed && t === 'Tombstone')).map((t) => t.toLowerCase()));
  const kept = filtered.filter((p) => (types ? typeSet.has(typeOf(p).toLowerCase()) : !defaultHidden.has(typeOf(p).toLowerCase())));
  const hidden = types ? [] : filtered.filter((p) => defaultHidden.has(typeOf(p).toLowerCase()));
  return { all, kept, hidden };
}

/** "N hidden (Tombstone, DummyUser): pass types to include them." for the people left out by default ('' when none). */
export function hiddenNote(hidden: Person[]): string {
  const hiddenTypes = hiddenByDefault.filter((t) => hidden.some((p) => typeOf(p).toLowerCase() === t.toLowerCase()));
  return hidden.length ? ` ${hidden.length} hidden (${hiddenTypes.join(', ')}): pass types to include them.` : '';
}
