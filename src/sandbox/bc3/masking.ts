import type { SandboxPerson } from './seed.js';

/**
 * Email redaction, as Basecamp does it: a person's `email_address` is shown in full only to account admins and
 * owners, and to the person themselves; everyone else gets a mask that keeps the first character and the shape
 * (`jan@acme.example` → `j••@••••.•••••••`), so many people share one mask.
 */
export function maskEmail(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address.replace(/./gu, '•');
  const local = [...address.slice(0, at)];
  return `${local[0] ?? ''}${'•'.repeat(Math.max(0, local.length - 1))}@${address.slice(at + 1).replace(/[^.]/gu, '•')}`;
}

/** What `viewer` sees of each person: their own record and everyone's, for admins and owners; masks otherwise. */
export function viewOf(viewer: SandboxPerson | undefined): <P extends SandboxPerson>(person: P) => P {
  const seesAll = !!viewer && (viewer.admin || viewer.owner);
  return (person) =>
    seesAll || person.id === viewer?.id || !person.email_address ? person : { ...person, email_address: maskEmail(person.email_address) };
}

/** A write's answer as `viewer` sees it: every person in it (a list, or `granted`/`revoked` lists) through viewOf. */
export function redactAnswer(body: unknown, viewer: SandboxPerson | undefined): unknown {
  const view = viewOf(viewer);
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (isPerson(value)) return view(value);
    if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(body);
}

const isPerson = (value: unknown): value is SandboxPerson =>
  typeof value === 'object' && value !== null && 'attachable_sgid' in value && 'email_address' in value && 'id' in value;
