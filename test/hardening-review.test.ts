import { afterEach, describe, expect, it } from 'vitest';
import { CancelledError } from '../src/basecamp/errors.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service } from '../src/service.js';
import { call, connectClient, sandboxService, testConfig } from './helpers.js';

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

describe('records Basecamp sends that the tools cannot use', () => {
  it.each([
    ['a null entry', [null]],
    ['an id that is not a number', [{ id: 'x', name: 'A' }]],
    ['no name', [{ id: 1 }]],
  ])('%s in a listing is an `upstream` failure naming the request, not an internal bug', async (_what, body) => {
    sb = await startSandbox();
    service = sandboxService(sb);
    const client = await connectClient(service);
    sb.intercept((req) => (req.path.split('?')[0]!.endsWith('/people.json') ? { status: 200, body } : undefined));
    for (const [tool, args] of [['list_people', {}], ['get_person', { email: 'a@acme.example' }], ['trash_person', { email: 'a@acme.example', dry_run: true }]] as const) {
      const r = await call(client, tool, args);
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/Basecamp sent a person without a usable id and name in GET \/people\.json/);
      expect(r.content[0]!.text).toContain('"error":"upstream"');
    }
    await client.close();
  });

  it('an optional field of the wrong type is dropped, as if not sent: the tools still answer', async () => {
    sb = await startSandbox();
    service = sandboxService(sb);
    const client = await connectClient(service);
    const odd = { id: 1, name: 'Odd Record', email_address: 7, admin: 'yes', company: { id: 'c' } };
    sb.intercept((req) => (req.path.split('?')[0]!.endsWith('/people.json') ? { status: 200, body: [odd] } : undefined));
    const list = await call(client, 'list_people', {});
    expect(list.isError).toBeFalsy();
    expect(list.structuredContent).toMatchObject({ people: [{ id: 1, name: 'Odd Record', email_address: null, admin: false }] });
    const get = await call(client, 'get_person', { email: 'odd@acme.example' });
    expect(get.content[0]!.text).toContain('"error":"not_found"');
    await client.close();
  });
});
