import { afterEach, describe, expect, it } from 'vitest';
import { BasecampApi } from '../src/basecamp/api.js';
import { Directory } from '../src/basecamp/directory.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { sandboxService } from './helpers.js';

/** The directory's shared loads, against the sandbox over real HTTP. */

let sb: Sandbox | undefined;
let service: Service | undefined;
afterEach(async () => {
  await service?.close();
  await sb?.close();
  service = sb = undefined;
});

/** A directory whose people loads are slow (the first page waits) and whose load signals are kept for inspection. */
async function slowDirectory() {
  sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  sb.intercept((req) => (req.path.endsWith('/people.json') ? { delayMs: 300 } : undefined));
  const loadSignals: AbortSignal[] = [];
  const api = Object.create(service.api) as BasecampApi;
  api.listPeople = (signal) => {
    loadSignals.push(signal!);
    return service!.api.listPeople(signal);
  };
  return { sb, directory: new Directory(api), loadSignals };
}

/** Resolves once the shared load's first request has reached the sandbox (it is then held there by the delay). */
async function started(sandbox: Sandbox): Promise<void> {
  while (sandbox.apiRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
}

describe('a shared directory load', () => {
  it('goes on for the callers still waiting when one of them cancels', async () => {
    const { sb, directory, loadSignals } = await slowDirectory();
    const first = new AbortController();
    const second = new AbortController();
    const a = directory.people({ signal: first.signal });
    const b = directory.people({ signal: second.signal });
    await started(sb);
    first.abort();
    await expect(a).rejects.toMatchObject({ kind: 'cancelled' });
    const people = await b;
    expect(people.items).toHaveLength(120);
    expect(loadSignals).toHaveLength(1);
    expect(loadSignals[0]!.aborted).toBe(false);
  });

  it('is aborted when every waiting caller has cancelled, and the next caller starts a new one', async () => {
    const { sb, directory, loadSignals } = await slowDirectory();
    const callers = [new AbortController(), new AbortController()];
    const waits = callers.map((c) => directory.people({ signal: c.signal }));
    await started(sb);
    callers[0]!.abort();
    expect(loadSignals[0]!.aborted).toBe(false);
    callers[1]!.abort();
    for (const w of waits) await expect(w).rejects.toMatchObject({ kind: 'cancelled' });
    expect(loadSignals[0]!.aborted).toBe(true);
    sb.intercept(undefined);
    expect((await directory.people()).items).toHaveLength(120);
    expect(loadSignals).toHaveLength(2);
  });

  it('findManyByEmail: any number of misses in a cached copy cost one fresh read', async () => {
    const { sb, directory } = await slowDirectory();
    sb.intercept(undefined);
    await directory.people();
    const before = sb.apiRequests().length;
    const found = await directory.findManyByEmail(['JAN@acme.example', 'a@nowhere.example', 'b@nowhere.example', 'c@nowhere.example']);
    expect([...found.keys()]).toEqual(['jan@acme.example']);
    expect(sb.apiRequests().length - before).toBe(4); // 120 people: one read of 4 pages
  });
});
