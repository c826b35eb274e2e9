import { describe, expect, it } from 'vitest';
import { call, structured, toolHarness } from '../helpers.js';

const { setup } = toolHarness();

describe('get_account and list_projects', () => {
  it('returns the account', async () => {
    const { sb, client } = await setup();
    const s = structured<{ account: { id: number; name: string; limits: unknown } }>(await call(client, 'get_account'));
    expect(s.account.id).toBe(sb.accountId);
    expect(s.account.limits).toBeTruthy();
  });
});
