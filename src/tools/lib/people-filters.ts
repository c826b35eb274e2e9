import { NotSupportedError } from '../../errors.js';
import type { Capabilities, Person } from '../../basecamp/types.js';

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
