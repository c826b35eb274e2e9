import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { login } from '../src/auth/login.js';
import { TokenStore } from '../src/auth/token-store.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';

let sb: Sandbox | undefined;
afterEach(async () => {
  await sb?.close();
  sb = undefined;
});

/** Writes a raw request line and returns the status the server answers (undefined if it only closed). */
function rawStatus(port: number, requestLine: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${requestLine}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve(m ? Number(m[1]) : undefined);
    });
  });
}

describe('login callback server (issue 7.1)', () => {
  it('answers 400 to request targets that are not URLs, and the real callback still completes the sign-in', async () => {
    sb = await startSandbox();
    const lines: string[] = [];
    let announced!: (url: string) => void;
    const authorizeUrl = new Promise<string>((r) => (announced = r));
    const store = new TokenStore(join(mkdtempSync(join(tmpdir(), 'bpm-login-cb-')), 'token.json'));
    const signedIn = login({
      launchpadUrl: sb.url,
      userAgent: 'login-callback-test',
      client: { clientId: 'sandbox-client', clientSecret: 'sandbox-secret' },
      port: 0,
      openBrowser: false,
      timeoutMs: 20_000,
      store,
      say: (line) => {
        lines.push(line);
        if (/authorization\/new/.test(line)) announced(line.trim());
      },
    });
    const url = await authorizeUrl;
    const approve = await request(url);
    expect(approve.statusCode).toBe(302);
    await approve.body.dump();
    const callback = new URL(approve.headers.location as string);
    const port = Number(callback.port);

    for (const target of ['//[', 'http://[', '//a:b@/', 'http://x:65536/callback', '//[::1']) {
      const status = await rawStatus(port, `GET ${target} HTTP/1.1`);
      expect(status, target).toBe(400);
    }
    const result = await request(callback.toString());
    expect(result.statusCode).toBe(200);
    await result.body.dump();
    const { account } = await signedIn;
    expect(account.id).toBe(5550001);
    expect(store.read()?.access_token).toBeTruthy();
  });
});
