import { z } from 'zod';
import { InvalidInputError } from '../basecamp/errors.js';
import type { Person } from '../basecamp/types.js';
import type { Service } from '../service.js';
import { defineTool } from './define.js';
import { projectById } from './projects.js';
import { compactPerson, email, personId, projectId, toCompactPerson } from './shared.js';

const who = z.union([personId, email]);
const people = z.array(who).min(1).max(100);

/** Emails → ids through the directory; every unknown email is reported at once, before any write. */
async function resolvePeople(service: Service, items: (number | string)[], signal: AbortSignal): Promise<Map<number | string, number>> {
  const ids = new Map<number | string, number>();
  const unknown: string[] = [];
  for (const item of items) {
    if (typeof item === 'number') ids.set(item, item);
    else {
      const person = await service.directory.findByEmail(item, signal);
      if (person) ids.set(item, person.id);
      else unknown.push(item);
    }
  }
  if (unknown.length) {
    throw new InvalidInputError(
      `No person on the account has the email ${unknown.join(', ')}. Nothing was changed. Use invite_person to add someone new, or list_people to find the right address.`,
    );
  }
  return ids;
}

export const updateProjectAccess = defineTool({
  name: 'update_project_access',
  title: 'Grant or revoke project access',
  description:
    'Give people access to a project, a team or the HQ (grant) and/or take it away (revoke), by person id or email. ' +
    'Only people already on the account can be granted; use invite_person for someone new. Unknown emails fail before ' +
    'anything changes. Ids Basecamp ignored (not a person on the account) come back in ignored. Revoking does not ' +
    'remove anyone from the account.',
  inputSchema: {
    project_id: projectId,
    grant: people.optional().describe('Person ids or emails to give access.'),
    revoke: people.optional().describe('Person ids or emails to take access from.'),
  },
  outputSchema: {
    project_id: z.number(),
    project_name: z.string(),
    granted: z.array(compactPerson),
    revoked: z.array(compactPerson),
    ignored: z.array(z.object({ person: z.union([z.number(), z.string()]), action: z.enum(['grant', 'revoke']), reason: z.string() })),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (!args.grant?.length && !args.revoke?.length) throw new InvalidInputError('Give grant, revoke, or both (person ids or emails).');
    const norm = (x: number | string) => (typeof x === 'string' ? x.toLowerCase() : x);
    const granting = new Set((args.grant ?? []).map(norm));
    const both = (args.revoke ?? []).filter((x) => granting.has(norm(x)));
    if (both.length) throw new InvalidInputError(`${both.join(', ')} is in both grant and revoke; say which you mean.`);
  },
  async handler(args, { service, signal }) {
    const grant = args.grant ?? [];
    const revoke = args.revoke ?? [];
    const ids = await resolvePeople(service, [...grant, ...revoke], signal);
    const grantIds = [...new Set(grant.map((g) => ids.get(g)!))];
    const revokeIds = [...new Set(revoke.map((r) => ids.get(r)!))];
    const overlap = grantIds.filter((id) => revokeIds.includes(id));
    if (overlap.length) throw new InvalidInputError(`Person ${overlap.join(', ')} is in both grant and revoke (by id and email); say which you mean.`);
    const project = await projectById(service, args.project_id, signal);
    let result: { granted: Person[]; revoked: Person[] };
    try {
      result = await service.api.updateProjectPeople(project.id, { grant: grantIds, revoke: revokeIds }, signal);
    } finally {
      service.directory.invalidate();
    }
    const grantedIds = new Set(result.granted.map((p) => p.id));
    const revokedIds = new Set(result.revoked.map((p) => p.id));
    const ignored = [
      ...grant.filter((g) => !grantedIds.has(ids.get(g)!)).map((g) => ({ person: g, action: 'grant' as const, reason: 'Basecamp ignored it: not a person on this account.' })),
      ...revoke.filter((r) => !revokedIds.has(ids.get(r)!)).map((r) => ({ person: r, action: 'revoke' as const, reason: 'Basecamp ignored it: not a person on this account.' })),
    ];
    const parts = [
      result.granted.length ? `granted ${result.granted.map((p) => p.name).join(', ')}` : '',
      result.revoked.length ? `revoked ${result.revoked.map((p) => p.name).join(', ')}` : '',
      ignored.length ? `ignored ${ignored.map((i) => i.person).join(', ')}` : '',
    ].filter(Boolean);
    return {
      structured: {
        project_id: project.id,
        project_name: project.name,
        granted: result.granted.map(toCompactPerson),
        revoked: result.revoked.map(toCompactPerson),
        ignored,
      },
      summary: `${project.name}: ${parts.join('; ') || 'nothing changed'}.`,
    };
  },
});
