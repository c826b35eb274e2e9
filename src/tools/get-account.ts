import { z } from 'zod';
import type { Capabilities } from '../basecamp/types.js';
import { defineTool } from './lib/define.js';

/** What this account's API cannot do, in words an agent can pass on (from the backend's capabilities). */
function cannot(caps: Capabilities): string[] {
  const out: string[] = [];
  if (!caps.removeFromAccount) out.push(`remove a person from the account (trash_person revokes every project; an admin finishes at ${caps.peopleAdminUrl})`);
  if (!caps.removedPeople) out.push('list the people removed from the account');
  if (!caps.hq) out.push('invite people without a project (there is no HQ: give project_id)');
  if (!caps.trashedProjects) out.push('list trashed projects');
  if (!caps.clientSwitch) out.push('turn clients on or off on a project (a client project is made in Basecamp)');
  if (!caps.clientsInDirectory) out.push('say who is a client account-wide (only per project: list_people project_id)');
  if (!caps.ownerKnown) out.push('say who owns the account or who is an employee (shown as null)');
  if (!caps.companiesKnown) out.push('say which company a person is from (no company filter)');
  return out;
}

export const getAccount = defineTool({
  name: 'get_account',
  title: 'Get the account',
  description:
    'Get the Basecamp account itself and which product it is (Basecamp 3/4/5 or Basecamp 2), with what that product\'s API ' +
    'cannot do (cannot). Basecamp 3/4/5: name, owner, plan and its limits (can_create_users, project limit), trial/frozen/paused ' +
    'state, and whether HQ and teams are enabled; use it before inviting people to check the plan allows it. Basecamp 2 ' +
    '(no account endpoint): id and name from Launchpad, with people and project counts.',
  inputSchema: {},
  outputSchema: {
    account: z.looseObject({ id: z.number(), name: z.string() }),
    product: z.object({ id: z.enum(['bc3', 'bcx']).describe('Launchpad\'s product: bc3 (Basecamp 3, 4 and 5) or bcx (Basecamp 2).'), name: z.string() }),
    cannot: z.array(z.string()).describe('What this product\'s API cannot do: the tools say so instead of trying.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(_args, ctx) {
    const { signal } = ctx;
    const caps = await ctx.api.capabilities(signal);
    const account = await ctx.api.getAccount(signal);
    const limits = cannot(caps);
    const counts = typeof account.people_count === 'number' ? `; ${account.people_count} people, ${String(account.projects_count)} active projects` : '';
    return {
      structured: { account, product: { id: caps.product, name: caps.productName }, cannot: limits },
      summary: `Account ${account.name} (id ${account.id}, ${caps.productName}${counts}).${limits.length ? ` Its API cannot: ${limits.join('; ')}.` : ''}`,
    };
  },
});
