// npm run conformance: the official MCP conformance suite (@modelcontextprotocol/conformance) against the
// built server over HTTP (sandbox account), once per requirement set: 2025-11-25 (stateful wire: initialize,
// sessions) and 2026-07-28 (stateless wire: per-request _meta, server/discover); both against `serve --http`
// (2025-era clients get sessions) and against `serve --http --stateless` (no sessions in either era).
// The suite needs Node >= 22; the node npm package (NODE below) provides it for this step only.
//
// `node scripts/conformance.mjs [SET...]` runs the named sets only (default: both).
//
// EXPECTED below lists, for each set, every scenario the suite runs (required and "not scored" alike) and
// the checks we expect to fail, each with its reason. Most of those scenarios call the suite's own fixture
// tools (test_*), resources (test://) or prompts, which a production server does not have. The run fails on
// - a check failing that is not listed (a real conformance failure),
// - a listed check that no longer fails (the list went stale: remove it),
// - a scenario the suite runs that is not listed, or a listed one it no longer runs,
// - a scenario that passed or failed no check at all (only notes, warnings or skips), unless listed as such.
// An entry is {} (must pass), { [checkId]: reason, ... } (exactly these checks fail), { '*': reason } (the
// scenario fails, whichever checks; only for extensions we do not offer) or { 'no-verdict': reason }.
// STATELESS holds the entries that differ under --stateless.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUITE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
/** The suite needs Node >= 22; pinned, like the suite, so that a run is the same run tomorrow. */
export const NODE = 'node@22.23.3';

const tool = (name) => `calls the suite's fixture tool ${name}, which a production server does not have`;
const prompt = (name) => `reads the suite's fixture prompt ${name}; we serve no prompts (prompts/* is -32601)`;
const resource = (what) => `reads the suite's fixture resource ${what}; we serve no resources (resources/* is -32601)`;
const TASKS = 'the tasks extension (not scored); we do not offer it';

export const EXPECTED = {
  '2025-11-25': {
    'server-initialize': {},
    'logging-set-level': {},
    ping: {},
    'completion-complete': { 'completion-complete': `completes an argument of ${prompt('test_prompt_with_arguments')}` },
    'tools-list': {},
    'tools-call-simple-text': { 'tools-call-simple-text': tool('test_simple_text') },
    'tools-call-image': { 'tools-call-image': tool('test_image_content') },
    'tools-call-audio': { 'tools-call-audio': tool('test_audio_content') },
    'tools-call-embedded-resource': { 'tools-call-embedded-resource': tool('test_embedded_resource') },
    'tools-call-mixed-content': { 'tools-call-mixed-content': tool('test_multiple_content_types') },
    'tools-call-with-logging': { 'tools-call-with-logging': tool('test_tool_with_logging') },
    'tools-call-error': { 'tools-call-error': tool('test_error_handling') },
    'tools-call-with-progress': { 'tools-call-with-progress': tool('test_tool_with_progress') },
    'tools-call-sampling': { 'tools-call-sampling': tool('test_sampling') },
    'tools-call-elicitation': { 'tools-call-elicitation': tool('test_elicitation') },
    'elicitation-sep1034-defaults': { 'elicitation-sep1034-general': tool('test_elicitation_sep1034_defaults') },
    'server-sse-multiple-streams': {},
    'elicitation-sep1330-enums': { 'elicitation-sep1330-general': tool('test_elicitation_sep1330_enums') },
    'resources-list': { 'resources-list': resource('list (test://static-text and others)') },
    'resources-read-text': { 'resources-read-text': resource('test://static-text') },
    'resources-read-binary': { 'resources-read-binary': resource('test://static-binary') },
    'resources-templates-read': { 'resources-templates-read': resource('template test://template/{id}/data') },
    'resources-subscribe': { 'resources-subscribe': resource('test://watched-resource (subscribe)') },
    'resources-unsubscribe': { 'resources-unsubscribe': resource('test://watched-resource (unsubscribe)') },
    'prompts-list': { 'prompts-list': prompt('list (test_simple_prompt and others)') },
    'prompts-get-simple': { 'prompts-get-simple': prompt('test_simple_prompt') },
    'prompts-get-with-args': { 'prompts-get-with-args': prompt('test_prompt_with_arguments') },
    'prompts-get-embedded-resource': { 'prompts-get-embedded-resource': prompt('test_prompt_with_embedded_resource') },
    'prompts-get-with-image': { 'prompts-get-with-image': prompt('test_prompt_with_image') },
    'dns-rebinding-protection': {},
    // Not scored for 2025-11-25 (added after the release, or pending), run and held here all the same.
    'server-session-lifecycle': {},
    'json-schema-2020-12': { 'json-schema-2020-12-tool-found': tool('json_schema_2020_12_tool') },
    'server-sse-polling': { 'no-verdict': `${tool('test_reconnection')}; without it the scenario records only notes and warnings` },
  },
  '2026-07-28': {
    'server-stateless': {
      'sep-2575-server-rejects-undeclared-capability': tool('test_missing_capability'),
      'sep-2575-missing-capability-http-400': tool('test_missing_capability'),
      'sep-2575-http-server-no-independent-requests-on-stream': tool('test_streaming_elicitation'),
      'sep-2575-server-no-log-without-loglevel': tool('test_logging_tool'),
    },
    'completion-complete': { 'completion-complete': `completes an argument of ${prompt('test_prompt_with_arguments')}` },
    'tools-list': {},
    'tools-call-simple-text': { 'tools-call-simple-text': tool('test_simple_text') },
    'tools-call-image': { 'tools-call-image': tool('test_image_content') },
    'tools-call-audio': { 'tools-call-audio': tool('test_audio_content') },
    'tools-call-embedded-resource': { 'tools-call-embedded-resource': tool('test_embedded_resource') },
    'tools-call-mixed-content': { 'tools-call-mixed-content': tool('test_multiple_content_types') },
    'tools-call-error': { 'tools-call-error': tool('test_error_handling') },
    'tools-call-with-progress': { 'tools-call-with-progress': tool('test_tool_with_progress') },
    'server-sse-multiple-streams': {},
    'resources-list': { 'resources-list': resource('list (test://static-text and others)') },
    'resources-read-text': { 'resources-read-text': resource('test://static-text') },
    'resources-read-binary': { 'resources-read-binary': resource('test://static-binary') },
    'resources-templates-read': { 'resources-templates-read': resource('template test://template/{id}/data') },
    'sep-2164-resource-not-found': {},
    'prompts-list': { 'prompts-list': prompt('list (test_simple_prompt and others)') },
    'prompts-get-simple': { 'prompts-get-simple': prompt('test_simple_prompt') },
    'prompts-get-with-args': { 'prompts-get-with-args': prompt('test_prompt_with_arguments') },
    'prompts-get-embedded-resource': { 'prompts-get-embedded-resource': prompt('test_prompt_with_embedded_resource') },
    'prompts-get-with-image': { 'prompts-get-with-image': prompt('test_prompt_with_image') },
    'dns-rebinding-protection': {},
    caching: {
      'sep-2549-prompts-list-caching-hints': prompt('list, for its ttlMs/cacheScope'),
      'sep-2549-resources-list-caching-hints': resource('list, for its ttlMs/cacheScope'),
      'sep-2549-resources-templates-list-caching-hints': resource('template list, for its ttlMs/cacheScope'),
    },
    'input-required-result-basic-elicitation': { 'sep-2322-elicitation-incomplete': tool('test_input_required_result_elicitation') },
    'input-required-result-basic-sampling': { 'sep-2322-sampling-incomplete': tool('test_input_required_result_sampling') },
    'input-required-result-basic-list-roots': { 'sep-2322-list-roots-incomplete': tool('test_input_required_result_list_roots') },
    'input-required-result-request-state': { 'sep-2322-request-state-incomplete': tool('test_input_required_result_request_state') },
    'input-required-result-multiple-input-requests': {
      'sep-2322-multiple-inputs-incomplete': tool('test_input_required_result_multiple_inputs'),
    },
    'input-required-result-multi-round': { 'sep-2322-multi-round-r1': tool('test_input_required_result_multi_round') },
    // Calls test_input_required_result_elicitation; without it the check is only a warning, so it passes.
    'input-required-result-missing-input-response': {},
    'input-required-result-non-tool-request': { 'sep-2322-non-tool-incomplete': prompt('test_input_required_result_prompt') },
    'input-required-result-result-type': { 'sep-2322-result-type-included': tool('test_input_required_result_elicitation') },
    'input-required-result-unsupported-methods': {},
    'input-required-result-tampered-state': { 'sep-2322-reject-tampered-state': tool('test_input_required_result_tampered_state') },
    'input-required-result-capability-check': {
      'sep-2322-respect-client-capabilities': tool('test_input_required_result_capabilities'),
    },
    // These two call test_input_required_result_elicitation too; without it their checks are warnings.
    'input-required-result-ignore-extra-params': {},
    'input-required-result-validate-input': {},
    // Not scored for 2026-07-28 (extension or pending), run and held here all the same.
    'tasks-lifecycle': { '*': TASKS },
    'tasks-capability-negotiation': { '*': TASKS },
    'tasks-wire-fields': { '*': TASKS },
    'tasks-request-state-removal': { '*': TASKS },
    'tasks-mrtr-input': { '*': TASKS },
    'tasks-request-headers': { '*': TASKS },
    'tasks-dispatch-and-envelope': { '*': TASKS },
    'tasks-status-notifications': { 'no-verdict': `${TASKS} (the scenario skips itself)` },
    'tasks-required-task-error': { '*': TASKS },
    'tasks-mrtr-composition': { '*': TASKS },
    'json-schema-2020-12': { 'json-schema-2020-12-tool-found': tool('json_schema_2020_12_tool') },
    'http-header-validation': {},
    'http-custom-header-server-validation': Object.fromEntries(
      [
        'sep-2243-server-no-xmcp-tool',
        'sep-2243-server-decode-base64',
        'sep-2243-server-validate-param-match',
        'sep-2243-server-reject-invalid-param-chars',
        'sep-2243-server-reject-param-mismatch',
      ].map((id) => [id, 'needs a tool with x-mcp-header parameters (the suite fixture has them); ours have none, so nothing is testable']),
    ),
  },
};

/** Under `--stateless` a 2025-era client gets no session: the two scenarios about sessions have nothing to check. */
export const STATELESS = {
  '2025-11-25': {
    ...EXPECTED['2025-11-25'],
    'server-session-lifecycle': { 'no-verdict': 'stateless: no Mcp-Session-Id, so the suite finds no session lifecycle to check (it says so and skips)' },
    'server-sse-multiple-streams': { 'no-verdict': 'stateless: the scenario needs a session to open several streams on; without one it only warns' },
  },
  '2026-07-28': EXPECTED['2026-07-28'],
};

/**
 * Compares what the suite ran with EXPECTED for one set.
 * @param {Record<string, Record<string, string>>} expected the set's table
 * @param {Map<string, {id: string, status: string, errorMessage?: string}[]>} ran scenario → its checks
 * @returns {{lines: string[], problems: string[]}} one line per scenario, and everything that fails the run
 */
export function judge(expected, ran) {
  const lines = [];
  const problems = [];
  for (const name of Object.keys(expected)) {
    if (!ran.has(name)) problems.push(`${name}: listed here but the suite no longer runs it (remove it from EXPECTED)`);
  }
  for (const [name, checks] of ran) {
    const entry = expected[name];
    if (!entry) {
      const failing = checks.filter((c) => c.status === 'FAILURE').map((c) => c.id);
      problems.push(`${name}: the suite runs it but EXPECTED does not list it (${failing.length ? `failing: ${[...new Set(failing)].join(', ')}` : 'it passes'}); add it`);
      continue;
    }
    const failing = new Map();
    for (const c of checks) if (c.status === 'FAILURE' && !failing.has(c.id)) failing.set(c.id, c.errorMessage ?? '');
    const succeeded = checks.some((c) => c.status === 'SUCCESS');
    if ('no-verdict' in entry) {
      if (failing.size || succeeded) problems.push(`${name}: listed as passing or failing no check (${entry['no-verdict']}) but it now does; update EXPECTED`);
      else lines.push(`SKIP  ${name}: ${entry['no-verdict']}`);
      continue;
    }
    if (!failing.size && !succeeded) {
      problems.push(`${name}: passed or failed no check (only notes, warnings or skips)`);
      continue;
    }
    if ('*' in entry) {
      if (!failing.size) problems.push(`${name}: expected to fail (${entry['*']}) but it passes; update EXPECTED`);
      else lines.push(`XFAIL ${name}: ${entry['*']}`);
      continue;
    }
    const unexpected = [...failing].filter(([id]) => !(id in entry));
    const stale = Object.keys(entry).filter((id) => !failing.has(id));
    for (const [id, message] of unexpected) problems.push(`${name}: check ${id} FAILED: ${message.replace(/\s+/g, ' ').slice(0, 400)}`);
    for (const id of stale) problems.push(`${name}: check ${id} was expected to fail (${entry[id]}) but did not; update EXPECTED`);
    if (unexpected.length || stale.length) lines.push(`FAIL  ${name}`);
    else if (failing.size) lines.push(`XFAIL ${name}: ${[...failing.keys()].map((id) => `${id}: ${entry[id]}`).join('; ')}`);
    else lines.push(`PASS  ${name}`);
  }
  return { lines, problems };
}

/**
 * Reads the suite's console output and result folders: scenario → checks, in the order run. A scenario that
 * crashed (no result folder) gets one failed check, 'scenario-crashed'; the SUMMARY must name the same scenarios.
 */
export function collect(output) {
  const ran = new Map();
  const blocks = output.split(/^=== Running scenario: /m).slice(1);
  for (const block of blocks) {
    const name = block.slice(0, block.indexOf(' ===')).trim();
    const saved = /^Results saved to (.+)$/m.exec(block);
    const crashed = /^Failed to run scenario [^:]+: (.*)$/m.exec(block);
    if (saved) ran.set(name, JSON.parse(readFileSync(join(saved[1].trim(), 'checks.json'), 'utf8')));
    else ran.set(name, [{ id: 'scenario-crashed', status: 'FAILURE', errorMessage: crashed ? crashed[1] : 'no result folder' }]);
  }
  const summary = output.slice(output.indexOf('=== SUMMARY ==='));
  const named = [...summary.matchAll(/^[✓✗] (\S+): \d+ passed, \d+ failed$/gm)].map((m) => m[1]);
  const missing = named.filter((n) => !ran.has(n));
  if (missing.length) throw new Error(`the suite's SUMMARY names scenarios whose output was not found: ${missing.join(', ')}`);
  return ran;
}

async function startServer(flags) {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const server = spawn(process.execPath, [cli, 'serve', '--http', ...flags, '--sandbox', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
    server.stderr.on('data', (d) => {
      log += d.toString();
      const m = /streamable HTTP at (\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  return { server, url };
}

function runSet(url, set, table) {
  const dir = mkdtempSync(join(tmpdir(), `conformance-${set}-`));
  try {
    const run = spawnSync(
      'npx',
      ['-y', '-p', NODE, '-p', SUITE, '--', 'conformance', 'server', '--url', url, '--requirements', set, '--output-dir', dir],
      { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const out = `${run.stdout}${run.stderr}`;
    // The suite exits 1 whenever a required scenario fails, fixtures included: its SUMMARY, not its exit code,
    // says whether it ran to the end.
    if (!/=== SUMMARY ===/.test(out)) {
      return { lines: [], problems: [`the suite did not finish (exit ${run.status}${run.error ? `, ${run.error.message}` : ''}):\n${out.split('\n').filter((l) => !/npm warn/.test(l)).slice(-30).join('\n')}`] };
    }
    try {
      return judge(table, collect(out));
    } catch (error) {
      return { lines: [], problems: [error instanceof Error ? error.message : String(error)] };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const sets = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(EXPECTED);
  for (const set of sets) if (!EXPECTED[set]) throw new Error(`unknown requirement set ${set} (known: ${Object.keys(EXPECTED).join(', ')})`);
  const modes = [
    { flags: [], tables: EXPECTED },
    { flags: ['--stateless'], tables: STATELESS },
  ];
  let runs = 0;
  let failed = 0;
  for (const { flags, tables } of modes) {
    const { server, url } = await startServer(flags);
    try {
      for (const set of sets) {
        const { lines, problems } = runSet(url, set, tables[set]);
        const what = `--requirements ${set} against serve --http ${flags.join(' ')}`.trimEnd();
        console.log(`\n== ${SUITE} ${what} (${url})`);
        for (const line of lines) console.log(line);
        for (const p of problems) console.log(`PROBLEM ${p}`);
        const listed = lines.filter((l) => l.startsWith('XFAIL') || l.startsWith('SKIP')).length;
        console.log(`${what}: ${problems.length ? `${problems.length} problem(s)` : 'as expected'} (${lines.filter((l) => l.startsWith('PASS')).length} pass, ${listed} listed with a reason)`);
        runs++;
        if (problems.length) failed++;
      }
    } finally {
      server.kill('SIGTERM');
    }
  }
  console.log(`\nMCP conformance suite: ${runs - failed} of ${runs} runs as expected`);
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
