import { describe, expect, it } from 'vitest';
import { BasecampApi } from '../src/basecamp/api.js';
import { Basecamp2Api } from '../src/basecamp/bcx-api.js';
import { AccountInactiveError, ApiDisabledError, NotFoundError, UpstreamError } from '../src/basecamp/errors.js';
import { refusalOf } from '../src/basecamp/rules/decide.js';
import { json, scriptedHarness, type Scripted } from './helpers.js';

// Issue 16 items 5 and 8: a 404 carrying a `Reason` header is about the whole account (Account Inactive, API
// Disabled), never "that thing is not there": not "already gone" for a re-sent Basecamp 2 DELETE, and API
// Disabled is its own kind, api_disabled, on both products. Scripted servers say exactly what Basecamp says.

const { serve, client } = scriptedHarness();

const bcx = (url: string) => new Basecamp2Api(client(url), { id: 999, name: 'Basecamp 2 account' });

/** A DELETE whose first answer leaves its outcome unknown (502), then `second` for the re-send. */
function lostThen(second: { status: number; headers?: Record<string, string> }): Promise<Scripted> {
  return serve((_req, res, _body, n) => {
    if (n === 1) return json(res, 502, { error: 'bad gateway' });
    json(res, second.status, second.status === 404 ? { error: 'Not found' } : null, second.headers);
  });
}

describe('one place reads the Reason header', () => {
  it.each([
    [undefined, undefined],
    ['Account Inactive', 'account-inactive'],
    ['account inactive', 'account-inactive'],
    ['API Disabled', 'api-disabled'],
    ['  api_disabled ', 'api-disabled'],
    ['Api-Disabled', 'api-disabled'],
    ['', 'other'],
    ['Inactive', 'other'],
    ['Account Suspended', 'other'],
  ] as const)('%j → %s', (header, refusal) => {
    expect(refusalOf(header)).toBe(refusal);
  });
});

describe('Basecamp 2: a re-sent DELETE answered 404 is "already gone" only without a Reason header (item 5)', () => {
  it('no Reason: already gone (the first one did it)', async () => {
    const server = await lostThen({ status: 404 });
    const removal = await bcx(server.url).removeFromAccount(5);
    expect(removal).toMatchObject({ removed: true, alreadyGone: true });
    expect(server.hits.map((h) => `${h.method} ${h.url}`)).toEqual(['DELETE /999/people/5.json', 'DELETE /999/people/5.json']);
  });

  it.each([
    ['API Disabled', ApiDisabledError, 'api_disabled', /An admin turned off API access/],
    ['Account Inactive', AccountInactiveError, 'account_inactive', /account is inactive/],
    ['Something New', UpstreamError, 'upstream', /Reason: Something New: a refusal about the account/],
  ] as const)('Reason: %s → %s, not already gone, and says the first attempt is unknown', async (reason, type, kind, message) => {
    const server = await lostThen({ status: 404, headers: { reason } });
    const error = await bcx(server.url).removeFromAccount(5).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect((error as ApiDisabledError).kind).toBe(kind);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/was not carried out\. An earlier attempt of DELETE \/999\/people\/5\.json got no clear answer \(502\), so whether it was applied then is unknown/);
    expect(server.hits).toHaveLength(2);
  });
});

describe('Reason: API Disabled is api_disabled, never not_found, on both products (item 8)', () => {
  const disabled = () => serve((_req, res) => json(res, 404, { error: 'API Disabled' }, { reason: 'API Disabled' }));

  it('Basecamp: a read', async () => {
    const server = await disabled();
    const error = await new BasecampApi(client(server.url), { id: 999 }).listPeople().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiDisabledError);
    expect((error as Error).message).toMatch(/An admin turned off API access for this Basecamp account \(404, Reason: API Disabled\).*GET \/999\/people\.json was not carried out\. Ask an admin or the owner/);
  });

  it('Basecamp: the enrollments endpoint does not take it for "no enrollments here" (which would fall back to a project)', async () => {
    const server = await disabled();
    const api = new BasecampApi(client(server.url), { id: 999 });
    const error = await api.enrollPeople({ people: [{ name: 'A', email_address: 'a@x.example' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiDisabledError);
  });

  it('Basecamp 2: a read and a revoke', async () => {
    const server = await disabled();
    const api = bcx(server.url);
    expect(await api.getPerson(5).catch((e: unknown) => e)).toBeInstanceOf(ApiDisabledError);
    expect(await api.listProjectPeople(7).catch((e: unknown) => e)).toBeInstanceOf(ApiDisabledError);
  });
});
