import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { ANONYMOUS_CALLER, RESERVED_NAMES, ROLES, TOKEN_CALLER, type Caller, type Role } from '../caller.js';

/**
 * The keys the HTTP front door accepts, and the caller each one is (src/caller.ts). MCP_HTTP_TOKEN is one admin
 * key named `MCP_HTTP_TOKEN`; MCP_HTTP_CLIENTS names a JSON file of named keys with roles, each stored as the
 * SHA-256 of its token (the file holds no token). No key at all (loopback only): every client is `anonymous`.
 */

/** One entry of the MCP_HTTP_CLIENTS file. */
export interface HttpClientKey {
  name: string;
  /** Hex SHA-256 of the bearer token (e.g. `printf %s "$TOKEN" | sha256sum`). */
  token_sha256: string;
  role: Role;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

export class KeyRing {
  private readonly keys: { hash: Buffer; caller: Caller }[];

  constructor(token?: string, clients: readonly HttpClientKey[] = []) {
    this.keys = [
      ...(token ? [{ hash: sha256(token), caller: TOKEN_CALLER }] : []),
      ...clients.map((c) => ({ hash: Buffer.from(c.token_sha256, 'hex'), caller: Object.freeze({ name: c.name, role: c.role }) })),
    ];
  }

  /** No key is set: every client is anonymous (allowed on loopback only). */
  get open(): boolean {
    return this.keys.length === 0;
  }

  /** What a refused client is told to send. */
  get hint(): string {
    return this.keys.length === 1 && this.keys[0]!.caller === TOKEN_CALLER ? '<MCP_HTTP_TOKEN>' : '<your key>';
  }

  /**
   * The caller an Authorization header proves, or undefined. The presented token is hashed once and compared with
   * every key in constant time, all of them whatever matched, so the answer's timing says nothing about the keys.
   */
  identify(authorization: string | undefined): Caller | undefined {
    if (this.open) return ANONYMOUS_CALLER;
    const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '';
    const digest = sha256(presented);
    let found: Caller | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(digest, key.hash) && presented !== '') found = key.caller;
    }
    return found;
  }
}

/** A key's name: what the audit trail records as `caller`. Plain enough to read in a log line. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

const entrySchema = z
  .object({
    name: z.string().regex(NAME, 'must be 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit)'),
    token_sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the token: 64 hexadecimal digits (printf %s "$TOKEN" | sha256sum)'),
    role: z.enum(ROLES, `must be one of ${ROLES.join(', ')}`),
  })
  .strict();

/**
 * Reads and checks the MCP_HTTP_CLIENTS file: every problem at once, each naming the variable. Refused: a file
 * that cannot be read, others may write (whoever can write it can give themselves an admin key), that is not JSON,
 * not a non-empty array of {name, token_sha256, role}, a bad role or hash, a name used twice (case aside) or
 * reserved (stdio, anonymous, MCP_HTTP_TOKEN) or, under MCP_AUTH=oauth, with an @ (people's names there), a hash used twice or equal to MCP_HTTP_TOKEN's. Readable by others
 * is allowed: the file holds hashes of tokens, not tokens.
 */
export function readHttpClients(path: string, token?: string, options: { oauth?: boolean } = {}): { clients: HttpClientKey[]; problems: string[] } {
  const where = `Environment variable MCP_HTTP_CLIENTS (${path})`;
  const fail = (problem: string) => ({ clients: [], problems: [`${where}: ${problem}`] });
  let text: string;
  try {
    const info = statSync(path);
    if (!info.isFile()) return fail('is not a regular file.');
    if (process.platform !== 'win32' && (info.mode & 0o022) !== 0) {
      return fail(`may be written by others (mode ${(info.mode & 0o777).toString(8)}): whoever can write it can give themselves an admin key. Run chmod 600 (or 644) on it.`);
    }
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return fail(`is not JSON (${(error as Error).message}).`);
  }
  if (!Array.isArray(data) || data.length === 0) return fail('must be a JSON array of at least one key: [{"name": "...", "token_sha256": "...", "role": "reader" | "operator" | "admin"}].');
  const problems: string[] = [];
  const clients: HttpClientKey[] = [];
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  if (token) hashes.set(sha256(token).toString('hex'), 0);
  data.forEach((raw: unknown, i) => {
    const label = `entry ${i + 1}${typeof (raw as { name?: unknown })?.name === 'string' ? ` ("${String((raw as { name: string }).name).slice(0, 64)}")` : ''}`;
    const parsed = entrySchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${where}: ${label}: ${issue.path.length ? `${issue.path.join('.')} ` : ''}${issue.message}.`);
      return;
    }
    const entry = { ...parsed.data, token_sha256: parsed.data.token_sha256.toLowerCase() };
    const folded = entry.name.toLowerCase();
    if (RESERVED_NAMES.some((r) => r.toLowerCase() === folded)) problems.push(`${where}: ${label}: the name ${entry.name} is reserved (it means stdio, anonymous or MCP_HTTP_TOKEN in the audit trail); choose another.`);
    // Under MCP_AUTH=oauth a signed-in person is recorded by their email: no key may look like one of them.
    else if (options.oauth && entry.name.includes('@')) problems.push(`${where}: ${label}: the name ${entry.name} looks like an email address; with MCP_AUTH=oauth the audit trail records signed-in people by their email, so a key's name must not have an @.`);
    else if (names.has(folded)) problems.push(`${where}: ${label}: the name ${entry.name} is also entry ${names.get(folded)} (names must differ, case aside: the audit trail tells callers by them).`);
    names.set(folded, i + 1);
    const other = hashes.get(entry.token_sha256);
    if (other === 0) problems.push(`${where}: ${label}: its token is MCP_HTTP_TOKEN's: one token is one caller.`);
    else if (other !== undefined) problems.push(`${where}: ${label}: its token_sha256 is also entry ${other}'s: one token is one caller.`);
    hashes.set(entry.token_sha256, i + 1);
    clients.push(entry);
  });
  return problems.length ? { clients: [], problems } : { clients, problems };
}
