import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Issue 19: `npm run conformance` holds every scenario of both requirement sets to a listed outcome. The suite
// itself needs npx and Node 22, so CI runs it; here, how its results are judged (scripts/conformance.mjs).

type Check = { id: string; status: string; errorMessage?: string };
type Table = Record<string, Record<string, string>>;
type Script = {
  SUITE: string;
  EXPECTED: Record<string, Table>;
  STATELESS: Record<string, Table>;
  judge: (expected: Table, ran: Map<string, Check[]>) => { lines: string[]; problems: string[] };
  collect: (output: string) => Map<string, Check[]>;
};
const scriptPath: string = '../scripts/conformance.mjs';
const script = (await import(scriptPath)) as Script;

const ok = (id: string): Check => ({ id, status: 'SUCCESS' });
const bad = (id: string, errorMessage = 'broken'): Check => ({ id, status: 'FAILURE', errorMessage });
const table: Table = {
  'tools-list': {},
  'tools-call-image': { 'tools-call-image': 'fixture tool test_image_content' },
  'tasks-lifecycle': { '*': 'tasks extension' },
  'tasks-status-notifications': { 'no-verdict': 'skips itself' },
};
const asExpected = (): Map<string, Check[]> =>
  new Map([
    ['tools-list', [ok('tools-list'), ok('wire-schema-valid')]],
    ['tools-call-image', [bad('tools-call-image'), ok('wire-schema-valid')]],
    ['tasks-lifecycle', [bad('a'), bad('b'), ok('c')]],
    ['tasks-status-notifications', [{ id: 'x', status: 'SKIPPED' }]],
  ]);

describe('judge: the run fails unless every scenario has its listed outcome', () => {
  it('passes when every scenario is as listed, naming the reason of each expected failure', () => {
    const { lines, problems } = script.judge(table, asExpected());
    expect(problems).toEqual([]);
    expect(lines).toEqual([
      'PASS  tools-list',
      'XFAIL tools-call-image: tools-call-image: fixture tool test_image_content',
      'XFAIL tasks-lifecycle: tasks extension',
      'SKIP  tasks-status-notifications: skips itself',
    ]);
  });

  it('a check failing that is not listed fails the run, with its message', () => {
    const ran = asExpected();
    ran.set('tools-list', [ok('tools-list'), bad('wire-schema-valid', 'id must be string,integer')]);
    expect(script.judge(table, ran).problems).toEqual(['tools-list: check wire-schema-valid FAILED: id must be string,integer']);
  });

  it('a listed failure that now passes fails the run (the list must not go stale)', () => {
    const ran = asExpected();
    ran.set('tools-call-image', [ok('tools-call-image'), ok('wire-schema-valid')]);
    expect(script.judge(table, ran).problems).toEqual([
      'tools-call-image: check tools-call-image was expected to fail (fixture tool test_image_content) but did not; update EXPECTED',
    ]);
    ran.set('tools-call-image', [bad('tools-call-image'), ok('wire-schema-valid')]);
    ran.set('tasks-lifecycle', [ok('a')]);
    expect(script.judge(table, ran).problems).toEqual(['tasks-lifecycle: expected to fail (tasks extension) but it passes; update EXPECTED']);
  });

  it('a scenario that appears or disappears fails the run', () => {
    const ran = asExpected();
    ran.delete('tools-list');
    ran.set('caching', [ok('sep-2549-tools-list-caching-hints'), bad('sep-2549-cache-scope-valid')]);
    expect(script.judge(table, ran).problems).toEqual([
      'tools-list: listed here but the suite no longer runs it (remove it from EXPECTED)',
      'caching: the suite runs it but EXPECTED does not list it (failing: sep-2549-cache-scope-valid); add it',
    ]);
  });

  it('a scenario that passed or failed no check fails the run unless listed so, and a listed one that starts running too', () => {
    const ran = asExpected();
    ran.set('tools-list', [{ id: 'tools-list', status: 'SKIPPED' }]);
    ran.set('tasks-status-notifications', [ok('x')]);
    expect(script.judge(table, ran).problems).toEqual([
      'tools-list: passed or failed no check (only notes, warnings or skips)',
      'tasks-status-notifications: listed as passing or failing no check (skips itself) but it now does; update EXPECTED',
    ]);
  });
});

describe('collect: what the suite printed and saved', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conformance-collect-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const saved = (name: string, checks: Check[]): string => {
    const folder = join(dir, `server-${name}-2026-12-06T01-24-04-906Z`);
    mkdirSync(folder);
    writeFileSync(join(folder, 'checks.json'), JSON.stringify(checks));
    return [`=== Running scenario: ${name} ===`, `Running client scenario '${name}' against server: http://127.0.0.1:1/mcp`, `Results saved to ${folder}`, ''].join('\n');
  };

  it('reads each scenario’s checks, and a crashed scenario (no result folder) is one failed check', () => {
    const output = [
      saved('tools-list', [ok('tools-list')]),
      '=== Running scenario: tasks-capability-negotiation ===',
      "Running client scenario 'tasks-capability-negotiation' against server: http://127.0.0.1:1/mcp",
      'Failed to run scenario tasks-capability-negotiation: Et [JsonRpcError]: Bad request',
      '    at l (file:///x/index.js:1:1)',
      '',
      '=== SUMMARY ===',
      '✓ tools-list: 1 passed, 0 failed',
      '✗ tasks-capability-negotiation: 0 passed, 1 failed',
    ].join('\n');
    const ran = script.collect(output);
    expect([...ran.keys()]).toEqual(['tools-list', 'tasks-capability-negotiation']);
    expect(ran.get('tools-list')).toEqual([ok('tools-list')]);
    expect(ran.get('tasks-capability-negotiation')).toEqual([bad('scenario-crashed', 'Et [JsonRpcError]: Bad request')]);
  });

  it('refuses a SUMMARY naming a scenario whose output it did not find', () => {
    const output = [saved('ping', [ok('ping')]), '=== SUMMARY ===', '✓ ping: 1 passed, 0 failed', '✓ server-initialize: 3 passed, 0 failed'].join('\n');
    expect(() => script.collect(output)).toThrow(/server-initialize/);
  });
});

describe('the table', () => {
  it('pins the suite and holds both requirement sets, every listed failure with a reason', () => {
    expect(script.SUITE).toBe('@modelcontextprotocol/conformance@0.2.0-alpha.12');
    expect(Object.keys(script.EXPECTED)).toEqual(['2025-11-25', '2026-07-28']);
    for (const set of Object.values(script.EXPECTED)) {
      for (const entry of Object.values(set)) for (const reason of Object.values(entry)) expect(reason.length).toBeGreaterThan(10);
    }
    // The required server scenarios of each set (`conformance list --requirements SET`): 30 and 37.
    expect(Object.keys(script.EXPECTED['2025-11-25']!)).toHaveLength(30 + 3);
    expect(Object.keys(script.EXPECTED['2026-07-28']!)).toHaveLength(37 + 13);
  });

  it('under --stateless only the two session scenarios of 2025 differ, and nothing is excused there', () => {
    expect(script.STATELESS['2026-07-28']).toEqual(script.EXPECTED['2026-07-28']);
    const stateless = script.STATELESS['2025-11-25']!;
    const stateful = script.EXPECTED['2025-11-25']!;
    const differ = Object.keys(stateless).filter((name) => JSON.stringify(stateless[name]) !== JSON.stringify(stateful[name]));
    expect(Object.keys(stateless)).toEqual(Object.keys(stateful));
    expect(differ).toEqual(['server-sse-multiple-streams', 'server-session-lifecycle']);
    for (const name of differ) expect(Object.keys(stateless[name]!)).toEqual(['no-verdict']);
  });
});
