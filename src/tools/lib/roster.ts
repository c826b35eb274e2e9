import { normalEmail } from '../../basecamp/directory.js';
import { isMaskedEmail } from '../../basecamp/records.js';
import type { Person } from '../../basecamp/types.js';
import { InvalidInputError } from '../../errors.js';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { email } from './params.js';
import { typeOf } from './people-filters.js';

/** A staff list compared with Basecamp's people (reconcile_people): its rows, read from CSV, and the comparison. */

export const MAX_ROSTER = 5_000;
export const MAX_ROSTER_NAME = 200;

export interface RosterEntry {
  email_address: string;
  name?: string;
}

const EMAIL_COLUMNS = ['email', 'email_address', 'e_mail'];
const columnKey = (header: string) => header.trim().toLowerCase().replace(/[\s-]+/g, '_');

/**
 * The rows of a roster CSV: a header naming an `email` (or `email_address`) column and optionally a `name` column
 * (other columns are ignored), then 1-5,000 rows. Anything that cannot be read as such is invalid_input naming
 * the line: no email column, unbalanced quotes, a row with more or fewer fields than the header, a cell that is
 * not an address (or is a masked one), more than 5,000 rows.
 */
export function rosterFromCsv(text: string): RosterEntry[] {
  const refuse = (line: number, problem: string): never => {
    throw new InvalidInputError(`roster_csv line ${line}: ${problem}. Nothing was read from Basecamp.`);
  };
  let parsed: ReturnType<typeof parseCsv>;
  try {
    parsed = parseCsv(text);
  } catch (error) {
    if (error instanceof CsvSyntaxError) return refuse(error.line, error.problem);
    throw error;
  }
  const [header, ...rows] = parsed.records;
  if (!header) return refuse(1, 'no header: the first line must name the columns, e.g. "email,name"');
  const columns = header.fields.map(columnKey);
  const emailColumns = columns.flatMap((c, i) => (EMAIL_COLUMNS.includes(c) ? [i] : []));
  const nameColumns = columns.flatMap((c, i) => (c === 'name' ? [i] : []));
  const separator = parsed.separator === ';' ? 'semicolons' : 'commas';
  if (emailColumns.length !== 1) {
    refuse(
      header.line,
      emailColumns.length
        ? `more than one email column (${emailColumns.map((i) => header.fields[i]).join(', ')}): keep one`
        : `the header (${header.fields.map((f) => `"${f.slice(0, 40)}"`).join(', ')}, separated by ${separator}) names no email or email_address column`,
    );
  }
  if (nameColumns.length > 1) refuse(header.line, 'more than one name column: keep one');
  if (!rows.length) refuse(header.line, 'a header but no rows: give 1-5,000 people');
  if (rows.length > MAX_ROSTER) refuse(rows[MAX_ROSTER]!.line, `more than ${MAX_ROSTER.toLocaleString('en')} rows (${rows.length}): split the roster`);
  const [at] = emailColumns as [number];
  const nameAt = nameColumns[0];
  return rows.map(({ line, fields }) => {
    if (fields.length !== header.fields.length) {
      refuse(line, `${fields.length} fields where the header has ${header.fields.length} (separated by ${separator}; a field holding a separator must be in double quotes)`);
    }
    const address = fields[at]!.trim();
    if (!address) refuse(line, 'no email address');
    if (!email.safeParse(address).success || isMaskedEmail(address)) {
      refuse(line, `"${address.slice(0, 80)}" is not an email address${isMaskedEmail(address) ? ' (it is a masked one, as Basecamp shows non-admins)' : ''}`);
    }
    const name = nameAt === undefined ? '' : fields[nameAt]!.trim();
    if (name.length > MAX_ROSTER_NAME) refuse(line, `a name longer than ${MAX_ROSTER_NAME} characters`);
    return name ? { email_address: address, name } : { email_address: address };
  });
}

/** Never on either side of a comparison: removed people, sample people, integrations and AI agents. */
export const NEVER_RECONCILED = ['Tombstone', 'DummyUser', 'Integration', 'Agent'] as const;
const never = new Set<string>(NEVER_RECONCILED.map((t) => t.toLowerCase()));
export const isReconciled = (p: Person): boolean => !never.has(typeOf(p).toLowerCase());

/** Names compared as people read them: case and spaces do not count. */
export const sameName = (a: string, b: string): boolean => nameKey(a) === nameKey(b);
const nameKey = (name: string) => name.normalize('NFC').toLowerCase().replace(/\s+/g, '');

export interface Reconciliation {
  /** The roster's distinct addresses (compared case-insensitively), in its order. */
  roster: RosterEntry[];
  /** Roster addresses someone in Basecamp has, each with who. */
  matched: { entry: RosterEntry; people: Person[] }[];
  missing: RosterEntry[];
  /** Team members (and clients with includeClients) whose address is not on the roster. */
  notOnRoster: Person[];
  mismatches: { person: Person; roster_name: string }[];
  /** People who would be compared but have no address to compare. */
  withoutAddress: Person[];
}

/**
 * The roster beside Basecamp's people (already read whole, no address masked). Any reconciled person with a roster
 * address matches it (a client too: they are in Basecamp); only team members, and clients with includeClients,
 * are listed as not on the roster.
 */
export function reconcileRoster(rows: RosterEntry[], people: Person[], opts: { includeClients: boolean }): Reconciliation {
  const roster = new Map<string, RosterEntry>();
  for (const row of rows) {
    const key = normalEmail(row.email_address);
    const seen = roster.get(key);
    if (!seen) roster.set(key, row);
    else if (!seen.name && row.name) roster.set(key, { ...seen, name: row.name });
  }
  const compared = people.filter(isReconciled);
  const byAddress = new Map<string, Person[]>();
  for (const p of compared) {
    if (!p.email_address) continue;
    const key = normalEmail(p.email_address);
    byAddress.set(key, [...(byAddress.get(key) ?? []), p]);
  }
  const matched: Reconciliation['matched'] = [];
  const missing: RosterEntry[] = [];
  const mismatches: Reconciliation['mismatches'] = [];
  for (const [key, entry] of roster) {
    const found = byAddress.get(key);
    if (!found) {
      missing.push(entry);
      continue;
    }
    matched.push({ entry, people: found });
    for (const person of found) if (entry.name && !sameName(entry.name, person.name)) mismatches.push({ person, roster_name: entry.name });
  }
  const listed = compared.filter((p) => opts.includeClients || p.client !== true);
  return {
    roster: [...roster.values()],
    matched,
    missing,
    notOnRoster: listed.filter((p) => p.email_address && !roster.has(normalEmail(p.email_address))),
    mismatches,
    withoutAddress: listed.filter((p) => !p.email_address),
  };
}
