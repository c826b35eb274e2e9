import type { Capabilities } from '../../basecamp/types.js';
import type { PeopleSnapshot, SnapshotPerson } from '../../governance/people-snapshots.js';
import { oneLine } from '../../one-line.js';

/** The fields people_changes compares, in the order it reports them. */
export const COMPARED_FIELDS = ['name', 'email_address', 'admin', 'owner', 'client', 'personable_type', 'title', 'company'] as const;
export type ComparedField = (typeof COMPARED_FIELDS)[number];

export interface FieldChange {
  person: { id: number; name: string };
  field: ComparedField;
  from: string | boolean | null;
  to: string | boolean | null;
}

export interface PeopleDiff {
  joined: SnapshotPerson[];
  left: SnapshotPerson[];
  changed: FieldChange[];
  /** Email changes that could not be compared because an address was masked (email_hidden) on either side. */
  maskedEmails: number;
}

/** The fields this product's listing says (Basecamp 2 names no owner, no company or title, and clients only per project). */
export function comparableFields(caps: Capabilities): { fields: ComparedField[]; notCompared: ComparedField[] } {
  const unknown = new Set<ComparedField>([
    ...(caps.ownerKnown ? [] : (['owner'] as const)),
    ...(caps.clientsInDirectory ? [] : (['client'] as const)),
    ...(caps.companiesKnown ? [] : (['title', 'company'] as const)),
  ]);
  return { fields: COMPARED_FIELDS.filter((f) => !unknown.has(f)), notCompared: COMPARED_FIELDS.filter((f) => unknown.has(f)) };
}

const removed = (p: SnapshotPerson) => p.personable_type === 'Tombstone';

/**
 * Who joined, left (gone from the listing, or now a Tombstone) and what changed between two snapshots, in the
 * fields given (comparableFields: never one the product leaves null). A masked address is never compared.
 */
export function diffPeople(before: PeopleSnapshot, now: PeopleSnapshot, fields: ComparedField[]): PeopleDiff {
  const was = new Map(before.people.filter((p) => !removed(p)).map((p) => [p.id, p]));
  const is = new Map(now.people.filter((p) => !removed(p)).map((p) => [p.id, p]));
  const joined = [...is.values()].filter((p) => !was.has(p.id));
  const left = [...was.values()].filter((p) => !is.has(p.id));
  const changed: FieldChange[] = [];
  let maskedEmails = 0;
  for (const p of is.values()) {
    const old = was.get(p.id);
    if (!old) continue;
    for (const field of fields) {
      const from = old[field];
      const to = p[field];
      if (from === to) continue;
      if (field === 'email_address' && (old.email_hidden || p.email_hidden)) {
        maskedEmails++;
        continue;
      }
      if (field === 'email_address' && typeof from === 'string' && typeof to === 'string' && from.toLowerCase() === to.toLowerCase()) continue;
      changed.push({ person: { id: p.id, name: p.name }, field, from, to });
    }
  }
  return { joined, left, changed, maskedEmails };
}

/** One person of a snapshot as a line of text (every field escaped). */
export function snapshotLine(p: SnapshotPerson): string {
  const roles = [p.owner && 'owner', p.admin && 'admin', p.client && 'client', p.personable_type !== 'User' && p.personable_type].filter(Boolean);
  const address = p.email_hidden ? '<hidden>' : p.email_address ? `<${p.email_address}>` : '';
  return oneLine([String(p.id), p.name, address, roles.length ? `[${roles.join(', ')}]` : '', p.title ?? '', p.company ?? ''].filter(Boolean).join(' '));
}

/** One change as a line of text. */
export function changeLine(c: FieldChange): string {
  return oneLine(`${c.person.id} ${c.person.name}: ${c.field} ${JSON.stringify(c.from)} -> ${JSON.stringify(c.to)}`);
}
