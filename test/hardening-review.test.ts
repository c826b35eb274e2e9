import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../src/basecamp/errors.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service } from '../src/service.js';
import { testConfig } from './helpers.js';

let sb: Sandbox | undefined;
let service: Service | undefined;
afterEach(async () => {
  sb?.intercept(undefined);
  await service?.close();
  await sb?.close();
  service = sb = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the shared account discovery (authorization.json)', () => {
  it('goes on for the other callers when the caller that started it cancels', async () => {
    sb = await startSandbox();
    // BASECAMP_ACCESS_TOKEN without BASECAMP_ACCOUNT_ID: the account is discovered through Launchpad, once for everyone.
    service = createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: undefined, accountIdFromEnv: undefined }));
    sb.intercept((req) => (req.path.startsWith('/authorization.json') ? { delayMs: 500 } : undefined));
    const first = new AbortController();
    const cancelled = service.api.getAccount(first.signal).catch((e: unknown) => e);
    const other = service.api.getAccount().catch((e: unknown) => e);
    await sleep(150); // both are waiting for the one authorization.json
    first.abort();
    expect(await cancelled).toBeInstanceOf(CancelledError);
    expect(await other).toMatchObject({ id: sb.accountId });
    expect(sb.requests.filter((r) => r.path.startsWith('/authorization.json'))).toHaveLength(1);
  });
});
