import { afterEach, describe, expect, it } from 'vitest';
import { OutcomeUnknownError, RateLimitedError, UpstreamError, NetworkError } from '../src/basecamp/errors.js';
import { BasecampHttp, type Credentials, type HttpOptions } from '../src/basecamp/http.js';
import { errorResult } from '../src/results.js';
import { json, scriptedServer, testHttpClient, type Scripted } from './helpers.js';

// Issue 7 item 10: the final error after retries says what happened (how many attempts, what each got,
// whether a write was re-sent and whether it can have applied). And the guard "the refresh after a 401
// does not use up a retry".

let server: Scripted | undefined;
let http: BasecampHttp | undefined;
afterEach(async () => {
  await http?.close();
  await http?.budget.stop();
  await server?.close();
  http = undefined;
  server = undefined;
});

function client(url: string, opts: Partial<HttpOptions> = {}): BasecampHttp {
  http = testHttpClient(url, {
    maxAttempts: 3,
    ...opts,
  });
  return http;
}

/** The wire form of an error, as a tool would report it. */
function wire(err: unknown): { text: string; payload: Record<string, unknown> } {
  const text = errorResult('update_project_access', err).content[0]!.text;
  return { text, payload: JSON.parse(text.slice(text.lastIndexOf('\n') + 1)) as Record<string, unknown> };
}

const write = (c: BasecampHttp) => c.request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } }).catch((e: unknown) => e);
const read = (c: BasecampHttp) => c.request('GET', '/people.json').catch((e: unknown) => e);

describe('a write re-sent after answers that prove it was not applied', () => {
  it('503 on every attempt: "re-sent 2 times, never applied", kind upstream, not outcome_unknown', async () => {
    server = await scriptedServer((_req, res) => json(res, 503, { error: 'down for maintenance' }));
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(3);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    const { text, payload } = wire(err);
    expect(text).toContain(
      'Basecamp answered 503 to PUT /999/projects/1/people/users.json: down for maintenance (after 3 attempts: 503, 503, 503). ' +
        'Each of those answers means the change was not applied, so it was re-sent 2 times; it was never applied, so nothing changed. Try again later.',
    );
    expect(text).not.toMatch(/may or may not|not re-sent/);
    expect(payload).toEqual({ error: 'upstream', status: 503, request_id: 'req-test-1' });
  });

  it('a single 503 when only one attempt is allowed: not applied, not "may or may not"', async () => {
    server = await scriptedServer((_req, res) => json(res, 503, { error: 'busy' }));
    const err = await write(client(server.url, { maxAttempts: 1 }));
    expect(server.hits).toHaveLength(1);
    expect(wire(err).payload.error).toBe('upstream');
    expect((err as Error).message).toMatch(/^Basecamp answered 503 to PUT \/999\/projects\/1\/people\/users\.json: busy\. That answer means the change was not applied, so nothing changed\. Try again later\.$/);
  });

  it('503 then 429 then 429: rate limited, with the attempts and "never applied"', async () => {
    server = await scriptedServer((_req, res, _b, n) => (n === 1 ? json(res, 503, {}) : json(res, 429, {}, { 'retry-after': '0' })));
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(3);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as Error).message).toMatch(
      /^Basecamp's rate limit was reached \(after 3 attempts: 503, 429, 429\)\. Each of those answers means the change was not applied, so it was re-sent 2 times; it was never applied, so nothing changed\. Try again in \d+ s\.$/,
    );
    expect(wire(err).payload.error).toBe('rate_limited');
  });

  it('a last attempt whose outcome is unknown (500) stays outcome_unknown, and says it had been re-sent', async () => {
    server = await scriptedServer((_req, res, _b, n) => json(res, n === 1 ? 503 : 500, { error: 'oops' }));
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(2);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    const { text, payload } = wire(err);
    expect(text).toContain(
      'Basecamp answered 500 to PUT /999/projects/1/people/users.json: oops. It may or may not have applied the change. ' +
        'It had been re-sent once after answers that mean it was not applied (503); it was not re-sent after this last attempt.',
    );
    expect(text).not.toContain('It was not re-sent.');
    expect(payload).toMatchObject({ error: 'outcome_unknown', outcome: 'unknown', status: 500 });
  });

  it('a dropped connection on the re-sent attempt: outcome unknown, and says it had been re-sent', async () => {
    server = await scriptedServer((req, res, _b, n) => (n <= 2 ? json(res, 503, {}) : void req.socket.destroy()));
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(3);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toMatch(
      /connection failed \(\w+\) after the request was sent\. Basecamp may or may not have applied it\. It had been re-sent 2 times after answers that mean it was not applied \(503, 503\); it was not re-sent after this last attempt\./,
    );
  });

  it('a write first sent once (no re-send) and dropped still says "it was not re-sent"', async () => {
    server = await scriptedServer((req) => void req.socket.destroy());
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(1);
    expect((err as Error).message).toMatch(/may or may not have applied it\. It was not re-sent\. Check the current state/);
  });

  it('a re-send that could not connect: nothing changed, naming the earlier answer', async () => {
    server = await scriptedServer((_req, res) => {
      res.on('finish', () => void server!.close()); // once the 503 is out, the re-send a second later finds nobody listening
      json(res, 503, {}, { 'retry-after': '1', connection: 'close' });
    });
    const err = await write(client(server.url));
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(
      /^Could not reach Basecamp \(connection failed \(ECONNREFUSED\)\); the change was not sent this time, and the earlier answers \(503\) mean it was not applied before, so nothing changed\. Try again later\.$/,
    );
  });
});

describe('a write answered 2xx with a body that is not JSON', () => {
  it('is outcome_unknown (Basecamp took it), not an upstream failure to try again', async () => {
    server = await scriptedServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>ok</html>');
    });
    const err = await write(client(server.url));
    expect(server.hits).toHaveLength(1);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toMatch(/answered 200 to PUT \S+ with a body that is not JSON, so what it changed is unknown .*It was not re-sent/);
    expect(wire(err).payload).toMatchObject({ error: 'outcome_unknown', outcome: 'unknown', status: 200 });
  });
});

describe('a read that ran out of attempts says how many and what each got', () => {
  it('503, 502, 504', async () => {
    server = await scriptedServer((_req, res, _b, n) => json(res, [503, 502, 504][n - 1] ?? 200, { error: 'down' }));
    const err = await read(client(server.url));
    expect(server.hits).toHaveLength(3);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toBe('Basecamp answered 504 to GET /999/people.json: down (after 3 attempts: 503, 502, 504). Try again later.');
  });

  it('503 then a final 500 (not retried)', async () => {
    server = await scriptedServer((_req, res, _b, n) => json(res, n === 1 ? 503 : 500, { error: 'oops' }));
    const err = await read(client(server.url));
    expect(server.hits).toHaveLength(2);
    expect((err as Error).message).toBe('Basecamp answered 500 to GET /999/people.json: oops (after 2 attempts: 503, 500). Try again later.');
  });

  it('no answer twice', async () => {
    server = await scriptedServer(() => undefined);
    const err = await read(client(server.url, { maxAttempts: 2, requestTimeoutMs: 200 }));
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe('Could not read from Basecamp: no answer within 200 ms (after 2 attempts: no answer, no answer).');
  });
});

describe('the refresh after a 401 does not use up a retry', () => {
  /** Accepts "fresh-token" only; after the first 401 it "refreshes" to it. */
  function refreshingCredentials(): Credentials & { recoveries: number } {
    let token = 'stale-token';
    const creds = {
      recoveries: 0,
      accessToken: async () => token,
      recoverFromUnauthorized: async () => {
        creds.recoveries++;
        token = 'fresh-token';
        return true;
      },
    };
    return creds;
  }

  function script(after401: number[]): Promise<Scripted> {
    let sinceRefresh = 0;
    return scriptedServer((req, res) => {
      if (req.headers.authorization !== 'Bearer fresh-token') return json(res, 401, { error: 'OAuth token expired (old age).' });
      const status = after401[sinceRefresh++] ?? 200;
      json(res, status, status === 200 ? [{ id: 1 }] : { error: 'down' });
    });
  }

  it('401 (refreshed), 503, 503, 200 succeeds with maxAttempts 3', async () => {
    server = await script([503, 503]);
    const credentials = refreshingCredentials();
    const res = await client(server.url, { credentials, maxAttempts: 3 }).request<unknown[]>('GET', '/people.json');
    expect(res.data).toEqual([{ id: 1 }]);
    expect(credentials.recoveries).toBe(1);
    expect(server.hits.map((h) => h.headers.authorization)).toEqual(['Bearer stale-token', ...Array(3).fill('Bearer fresh-token')]);
  });

  it('401 (refreshed), then 503 three times: three attempts after the refresh, and the message counts all four requests', async () => {
    server = await script([503, 503, 503]);
    const err = await read(client(server.url, { credentials: refreshingCredentials(), maxAttempts: 3 }));
    expect(server.hits).toHaveLength(4);
    expect((err as Error).message).toMatch(/\(after 4 attempts: 401, 503, 503, 503\)/);
  });

  it('a write re-sent after the refresh: its 401 proved it was not applied', async () => {
    server = await script([500]);
    const err = await write(client(server.url, { credentials: refreshingCredentials() }));
    expect(server.hits).toHaveLength(2);
    expect((err as Error).message).toContain('It had been re-sent once after answers that mean it was not applied (401)');
  });
});
