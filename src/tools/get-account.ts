import { z } from 'zod';
import { defineTool } from './define.js';

export const getAccount = defineTool({
  name: 'get_account',
  title: 'Get the account',
  description:
    'Get the Basecamp account itself: name, owner, plan and its limits (can_create_users, project limit), trial/frozen/paused ' +
    'state, and whether HQ and teams are enabled. Use it before inviting people to check the plan allows it.',
  inputSchema: {},
  outputSchema: { account: z.looseObject({ id: z.number(), name: z.string() }) },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(_args, ctx) {
    const { signal } = ctx;
    const account = await ctx.api.getAccount(signal);
    return { structured: { account }, summary: `Account ${account.name} (id ${account.id}).` };
  },
});
