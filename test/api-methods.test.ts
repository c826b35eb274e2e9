import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accountApi } from '../src/basecamp/account-api.js';
import { API_METHODS, BasecampApi, forwardingApi, type PeopleApi } from '../src/basecamp/api.js';
import { Basecamp2Api } from '../src/basecamp/bcx-api.js';
import { NotSupportedError } from '../src/errors.js';
import type { Capabilities } from '../src/basecamp/types.js';
import { AuditLog } from '../src/governance/audit-log.js';
import { auditedApi, type CallRecord } from '../src/governance/audited-api.js';
import { json, scratchHarness, scriptedHarness } from './helpers.js';

// Issue 18 item 4: one list of PeopleApi methods (API_METHODS) from which both forwarding layers are derived,
// one argument order (the AbortSignal last), and a capability a product lacks always means NotSupportedError.

const { serve, client } = scriptedHarness();
const { scratch } = scratchHarness('api-methods');

type Flag = { [K in keyof Capabilities]: Capabilities[K] extends boolean ? K : never }[keyof Capabilities];

/**
 * The calls each capability flag promises. A flag that names no method describes records or messages only.
 * A new flag does not compile here until it is classified.
 */
const CALLS: Record<Flag, ((api: PeopleApi) => Promise<unknown>)[]> = {
  accountInvitations: [(api) => api.enrollPeople({ people: [{ name: 'N', email_address: 'n@acme.example' }] })],
  removeFromAccount: [(api) => api.removeFromAccount(5)],
  removedPeople: [(api) => api.listRemovedPeople()],
  personProjects: [(api) => api.personProjects(5)],
  trashedProjects: [(api) => api.listProjects('trashed')],
  clientSwitch: [(api) => api.setClientsEnabled(7, true), (api) => api.setClientsEnabled(7, false)],
  hq: [],
  namesInvitees: [],
  clientsInDirectory: [],
  ownerKnown: [],
  companiesKnown: [],
};

const backends = {
  'Basecamp 3/4/5': (url: string) => new BasecampApi(client(url), { id: 999 }),
  'Basecamp 2': (url: string) => new Basecamp2Api(client(url), { id: 999, name: 'Basecamp 2 account' }),
};

describe('a capability the product lacks: NotSupportedError, nothing sent', () => {
  it.each(Object.keys(backends) as (keyof typeof backends)[])('%s, on the backend and through the forwarding layers', async (product) => {
    const server = await serve((_req, res) => json(res, 200, []));
    const backend = backends[product](server.url);
    const caps = await backend.capabilities();
    const lacking = (Object.keys(CALLS) as Flag[]).filter((flag) => !caps[flag] && CALLS[flag].length);
    expect(lacking.length).toBeGreaterThan(0);
    const layers: PeopleApi[] = [backend, accountApi(async () => backend)];
    for (const api of layers) {
      for (const flag of lacking) {
        for (const attempt of CALLS[flag]) {
          const error = await attempt(api).catch((e: unknown) => e);
          expect(error, `${product}: ${flag}`).toBeInstanceOf(NotSupportedError);
        }
      }
    }
    expect(server.hits).toHaveLength(0);
  });
});

/** A backend that records each call and answers what a write's audit rule reads. */
function recordingBackend() {
  const calls: { method: string; args: unknown[] }[] = [];
  const answers: Partial<Record<keyof PeopleApi, unknown>> = {
    accessRequest: 'PUT /projects/1/people/users.json',
    updateProjectPeople: { granted: [], revoked: [], requestId: 'r-1' },
    setClientsEnabled: { enabled: true },
    enrollPeople: 'unavailable',
    removeFromAccount: { removed: true },
    myProfile: { id: 1, name: 'Me' },
  };
  const api = forwardingApi(async (method, args) => {
    calls.push({ method, args });
    return answers[method] ?? { method };
  });
  return { api, calls };
}

/** Distinct arguments for every method, its AbortSignal last. */
function argumentsFor(signal: AbortSignal): Record<keyof PeopleApi, unknown[]> {
  return {
    capabilities: [signal],
    listPeople: [signal],
    listProjectPeople: [11, signal],
    getPerson: [12, signal],
    myProfile: [signal],
    getAccount: [signal],
    listProjects: ['archived', signal],
    getProject: [13, signal],
    listRemovedPeople: [signal],
    personProjects: [14, signal],
    accessRequest: [15, { grant: [1] }, 'client', signal],
    updateProjectPeople: [16, { grant: [2] }, 'client', signal],
    setClientsEnabled: [17, true, signal],
    enrollPeople: [{ people: [{ name: 'N', email_address: 'n@acme.example' }] }, signal],
    removeFromAccount: [18, signal],
  };
}

const invoke = (api: PeopleApi, method: keyof PeopleApi, args: unknown[]) => (api[method] as (...a: unknown[]) => Promise<unknown>).apply(api, args);

describe('the forwarding layers are derived from API_METHODS', () => {
  it('accountApi hands every method its arguments in order, and finds the backend with the call\'s signal', async () => {
    const { api: backend, calls } = recordingBackend();
    const signals: (AbortSignal | undefined)[] = [];
    const api = accountApi(async (signal) => (signals.push(signal), backend));
    const signal = new AbortController().signal;
    const args = argumentsFor(signal);
    for (const method of Object.keys(API_METHODS) as (keyof PeopleApi)[]) {
      calls.length = 0;
      signals.length = 0;
      await invoke(api, method, args[method]);
      expect(calls, method).toEqual([{ method, args: args[method] }]);
      expect(signals[0], method).toBe(signal);
    }
  });

  it('auditedApi passes every read through and records every write, its arguments unchanged', async () => {
    const { api: backend, calls } = recordingBackend();
    const trail = new AuditLog(join(scratch(), 'audit.jsonl'));
    const call: CallRecord = { caller: 'test', tool: 'test', arguments: {}, identity: async () => null, account: async () => 999 };
    const api = auditedApi(backend, trail, call);
    const args = argumentsFor(new AbortController().signal);
    const writes: string[] = [];
    for (const method of Object.keys(API_METHODS) as (keyof PeopleApi)[]) {
      calls.length = 0;
      await invoke(api, method, args[method]);
      expect(calls.at(-1), method).toEqual({ method, args: args[method] });
      if (API_METHODS[method] === 'write') writes.push(method);
    }
    const lines = readFileSync(trail.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; request: string });
    expect(lines.map((l) => `${l.phase} ${l.request}`)).toEqual([
      'intent PUT /projects/1/people/users.json',
      'outcome PUT /projects/1/people/users.json',
      'intent POST /projects/17/client_enablement.json',
      'outcome POST /projects/17/client_enablement.json',
      'intent POST /account/enrollments/people.json',
      'outcome POST /account/enrollments/people.json',
      'intent DELETE /people/18.json',
      'outcome DELETE /people/18.json',
    ]);
    expect(writes).toEqual(['updateProjectPeople', 'setClientsEnabled', 'enrollPeople', 'removeFromAccount']);
  });
});
