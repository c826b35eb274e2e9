// npm run bench: our server beside the floor it stands on, measured in the same run (issue 8's table).
// The floors are started here: a bare v2 SDK server with eight trivial tools (bench/bare-server.mjs; over HTTP its
// get_person reads the sandbox as ours does) and raw HTTP to the same sandbox. Ours is the built CLI driven over
// stdio and over HTTP, so refactors inside src/ do not break this.
// Timing targets live here, not in tests. Exits non-zero when a target is missed, naming it.
// `node bench/run.mjs [start] [per-call] [bundle] [jobs] [throughput]` runs only those sections (none named: all);
// `--no-pack` measures an existing basecamp-people-mcp.mcpb instead of building it.
import { execFileSync } from 'node:child_process';
import { existsSync, openSync, readSync, readdirSync, closeSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { request } from 'undici';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { bareHttpServer, bareServer, ourHttpServer, ourSandboxServer, ourServer, root, startSandboxHost } from './lib/processes.mjs';
import { gearedPages, median, sleep } from './lib/stats.mjs';

const COLD_STARTS = 15;
const RSS_SAMPLES = 5;
const LATENCY_ROUNDS = 4;
const CALLS_PER_ROUND = 50;
const WARM_UP_CALLS = 30;
/** Basecamp's limit, which the job sandboxes enforce. */
const STRICT = { max: 50, windowMs: 10_000 };
/** For latency: so the rate budget never makes a call wait and the time measured is the call's own. */
const UNLIMITED = { max: 1_000_000_000, windowMs: 10_000 };
const UNLIMITED_ENV = { BASECAMP_RATE_LIMIT: '1000000000/10s' };
/**
 * What reconcile_people may add to its floor: the work the floor does not do. Per page read, the client's own
 * path (budget, retry rules, Link and record checks): 1 ms, the allowance get_person's per-call target grants a
 * request. Per record compared (roster rows and people): checking it (zod on the way in, records.ts on the way
 * from Basecamp, the output schema on the way out), comparing it and writing its CSV row and compact record: 20 µs.
 */
const reconcileMargin = (pages, records) => pages * 1 + records * 0.02;

/** Stateless HTTP throughput: clients calling at once, seconds per measured round, rounds per server. */
const HTTP_CLIENTS = 16;
const HTTP_WARM_UP_S = 2;
/** Short slices, alternating (ours, bare, bare, ours, …): load from outside the bench then falls on both alike. */
const HTTP_SLICE_S = 0.5;
const HTTP_SLICES = 24;
const ERA = '2026-07-28';

const SECTIONS = ['start', 'per-call', 'bundle', 'jobs', 'throughput'];
const ALL_TYPES = ['User', 'Client', 'Integration', 'DummyUser', 'Outsider', 'Tombstone', 'Agent'];
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const runs = (section) => chosen.length === 0 || chosen.includes(section);
const startedAt = performance.now();
const ms = (v) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const mb = (v) => `${v.toFixed(1)} MB`;
/** A difference with its sign: +1.2, -5.5. */
const signed = (v, digits) => `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`;

/** Lines of the table. `pass` undefined: shown for information, no target. */
function table() {
  const lines = [];
  return {
    lines,
    add(measure, ours, floor, versus, target, pass) {
      lines.push({ measure, ours, floor, versus, target, result: pass === undefined ? '' : pass ? 'pass' : 'MISS' });
    },
  };
}

function log(message) {
  process.stderr.write(`[bench ${((performance.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
}

const unknown = chosen.filter((s) => !SECTIONS.includes(s));
if (unknown.length) throw new Error(`Unknown section(s) ${unknown.join(', ')}; choose from ${SECTIONS.join(', ')} (none: all).`);
const main = table();
const bundleRows = table();

// ---- the bundle first: packing is CPU-heavy and must not overlap a timing ----
if (runs('bundle')) measureBundle(bundleRows);

// ---- quiet phase: start-up, memory, per-call time, text size (nothing else running) ----
if (runs('start') || runs('per-call')) {
  const sandbox = await startSandboxHost({ people: 120, rateLimit: UNLIMITED });
  try {
    if (runs('start')) {
      await coldStarts(main, sandbox);
      await memory(main, sandbox);
    }
    if (runs('per-call')) await perCall(main, sandbox);
  } finally {
    await sandbox.close();
  }
}

// ---- jobs, each against its own sandbox with Basecamp's 50/10 s. The two counted in requests run side by side;
// the two timed ones run alone afterwards, so the bench's own load cannot delay a burst into a 429.
const jobRows = [];
if (runs('jobs')) {
  log('jobs: listing + look-ups beside the offboarding plan (about 25 s, mostly rate-limit waits)');
  const counted = await Promise.all([
    job('list 1,000 people, then 100 look-ups', listingJob),
    job('offboarding plan', offboardingJob),
    job('Basecamp 2 offboarding plan', bcxOffboardingJob),
  ]);
  log('jobs: 75, then 150 parallel look-ups (about 30 s)');
  const timed = [await job('75 parallel look-ups', (t) => parallelJob(t, 75)), await job('150 parallel look-ups', (t) => parallelJob(t, 150))];
  jobRows.push(...counted.flat(), ...timed.flat());
  log('jobs: reconcile_people, 5,000 roster rows against 10,000 people (about 10 s)');
  jobRows.push(...(await job('reconcile 5,000 roster rows against 10,000 people', reconcileJob)));
}

// ---- stateless HTTP throughput, alone: it keeps both cores busy ----
if (runs('throughput')) {
  log(`throughput: ${HTTP_CLIENTS} ${ERA} clients over stateless HTTP, bare v2 server and ours, ${HTTP_SLICES} alternating slices of ${HTTP_SLICE_S} s each (about 35 s)`);
  jobRows.push(...(await job(`stateless HTTP throughput, ${HTTP_CLIENTS} clients`, throughputJob)));
}

printTable([...main.lines, ...bundleRows.lines, ...jobRows]);

// ------------------------------------------------------------------------------------------------------------

/** A job that throws is a missed target with its reason, not a crash that hides the other rows. */
async function job(name, run) {
  const t = table();
  try {
    await run(t);
  } catch (error) {
    log(`${name} failed: ${error.stack ?? error}`);
    t.add(name, 'failed (see stderr)', '—', '', 'runs', false);
  }
  return t.lines;
}

async function coldStarts(t, sandbox) {
  log(`cold start: ${COLD_STARTS} rounds of bare / ours --sandbox / ours with a token (after 2 warm-up rounds)`);
  const kinds = { bare: bareServer, sandboxed: ourSandboxServer, realistic: () => ourServer(sandbox) };
  const times = { bare: [], sandboxed: [], realistic: [] };
  const names = Object.keys(kinds);
  for (let round = -2; round < COLD_STARTS; round++) {
    // Rotate the order so no kind always runs right after another's exit.
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + 2 + k) % names.length];
      const server = kinds[name]();
      const t = await server.initialize();
      await server.close();
      if (round >= 0) times[name].push(t);
    }
  }
  const bare = median(times.bare);
  const ours = median(times.realistic);
  const sandboxed = median(times.sandboxed);
  t.add('cold start: spawn → initialize answer, median (serve with a token)', ms(ours), `${ms(bare)} bare v2 SDK server`, `${(ours / bare).toFixed(2)} ×`, '≤ 1.00 × bare', ours <= bare);
  t.add('cold start, serve --sandbox (sandbox in-process; information)', ms(sandboxed), `${ms(bare)} bare v2 SDK server`, `${(sandboxed / bare).toFixed(2)} ×`, '—');
}

async function memory(t, sandbox) {
  log(`RSS after initialize, idle 1 s: median of ${RSS_SAMPLES} each`);
  const samples = { bare: [], realistic: [], sandboxed: [] };
  for (let i = 0; i < RSS_SAMPLES; i++) {
    for (const [name, start] of [['bare', bareServer], ['realistic', () => ourServer(sandbox)], ['sandboxed', ourSandboxServer]]) {
      const server = start();
      await server.initialize();
      await sleep(1000);
      samples[name].push(server.rssMb());
      await server.close();
    }
  }
  const bare = median(samples.bare);
  const ours = median(samples.realistic);
  const sandboxed = median(samples.sandboxed);
  t.add('RSS after initialize, idle (serve with a token)', mb(ours), `${mb(bare)} bare v2 SDK server`, `${signed(ours - bare, 1)} MB`, '≤ bare + 10 MB', ours <= bare + 10);
  t.add('RSS after initialize, serve --sandbox (information)', mb(sandboxed), `${mb(bare)} bare v2 SDK server`, `${signed(sandboxed - bare, 1)} MB`, '—');
}

async function perCall(t, sandbox) {
  log(`per call: raw HTTP, bare tool call, our get_person; ${LATENCY_ROUNDS} interleaved rounds of ${CALLS_PER_ROUND} after ${WARM_UP_CALLS} warm-ups`);
  const bare = bareServer();
  const ours = ourServer(sandbox, UNLIMITED_ENV);
  await bare.initialize();
  await ours.initialize();
  const ids = sandbox.personIds;
  const headers = { authorization: `Bearer ${sandbox.token}`, 'user-agent': 'basecamp-people-mcp bench (bench@example.com)' };
  const measures = {
    raw: async (id) => {
      const res = await request(`${sandbox.url}/${sandbox.accountId}/people/${id}.json`, { headers });
      if (res.statusCode !== 200) throw new Error(`raw GET answered ${res.statusCode}`);
      await res.body.json();
    },
    bare: (id) => bare.callTool('get_person', { person_id: id }),
    ours: async (id) => {
      const result = await ours.callTool('get_person', { person_id: id });
      if (result.isError) throw new Error(`get_person failed: ${result.content?.[0]?.text}`);
    },
  };
  const times = { raw: [], bare: [], ours: [] };
  for (const call of Object.values(measures)) for (let i = 0; i < WARM_UP_CALLS; i++) await call(ids[i % ids.length]);
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    for (const [name, call] of Object.entries(measures)) {
      for (let i = 0; i < CALLS_PER_ROUND; i++) {
        const t0 = performance.now();
        await call(ids[(round * CALLS_PER_ROUND + i) % ids.length]);
        times[name].push(performance.now() - t0);
      }
    }
  }
  const raw = median(times.raw);
  const bareCall = median(times.bare);
  const ourCall = median(times.ours);
  const floor = raw + bareCall;
  t.add(
    'get_person over stdio, p50 (budget raised out of the way)',
    ms(ourCall),
    `${ms(floor)} = raw HTTP ${ms(raw)} + bare tool call ${ms(bareCall)}`,
    `${signed(ourCall - floor, 2)} ms`,
    '≤ floor + 1 ms',
    ourCall <= floor + 1,
  );

  const listed = await ours.callTool('list_people', {});
  const people = listed.structuredContent?.people?.length ?? 0;
  const chars = listed.content.filter((c) => c.type === 'text').reduce((n, c) => n + c.text.length, 0);
  const perPerson = people ? chars / people : Infinity;
  t.add(`list_people text content per person (default call, ${people} people)`, `${perPerson.toFixed(0)} chars`, '—', '', '≤ 120 chars', perPerson <= 120);
  await bare.close();
  await ours.close();
}

/** Builds the bundle with `npm run pack` (unless --no-pack) and reads its size and file count. */
function measureBundle(t) {
  const bundle = packBundle();
  if (bundle.bytes === undefined) return t.add('.mcpb bundle', 'not measured', '—', '', '≤ 1.5 MB, ≤ 20 files', false);
  t.add('.mcpb bundle size', mb(bundle.bytes / 1e6), '—', '', '≤ 1.5 MB', bundle.bytes <= 1.5e6);
  t.add('.mcpb bundle files', String(bundle.files), '—', '', '≤ 20 ("few")', bundle.files <= 20);
  const built = [resolve(root, 'dist/cli.js'), ...readdirSync(resolve(root, 'dist/chunks')).filter((f) => f.endsWith('.js')).map((f) => resolve(root, 'dist/chunks', f))];
  const unpacked = built.reduce((n, f) => n + statSync(f).size, 0);
  t.add(`the server unpacked (dist/cli.js + ${built.length - 1} chunks; information)`, mb(unpacked / 1e6), '—', '', '—');
}

function packBundle() {
  const file = resolve(root, 'basecamp-people-mcp.mcpb');
  if (!process.argv.includes('--no-pack')) {
    log('packing the .mcpb (npm run pack)');
    try {
      execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'pack'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    } catch (error) {
      log(`packing failed, the bundle is not measured: ${String(error.stderr ?? error.message).slice(-500)}`);
      return {};
    }
  }
  if (!existsSync(file)) return {};
  return { bytes: statSync(file).size, files: zipEntries(file) };
}

/** The entry count from a zip's end-of-central-directory record. */
function zipEntries(file) {
  const size = statSync(file).size;
  const length = Math.min(size, 65_557);
  const tail = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  readSync(fd, tail, 0, length, size - length);
  closeSync(fd);
  for (let i = length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) return tail.readUInt16LE(i + 10);
  }
  throw new Error(`${file} is not a zip file`);
}

/** Listing 1,000 people through list_people's pages, then 100 look-ups by email through get_person. */
async function listingJob(t) {
  const sb = await startSandboxHost({ people: 1000, rateLimit: STRICT });
  const server = ourServer(sb);
  try {
    await server.initialize();
    const before = (await sb.stats()).apiRequests;
    const seen = [];
    let cursor;
    do {
      // Every person type (the default hides removed and sample people): the floor counts all 1,000.
      const result = await server.callTool('list_people', { types: ALL_TYPES, ...(cursor ? { cursor } : {}) });
      if (result.isError) throw new Error(`list_people failed: ${result.content[0].text}`);
      seen.push(...result.structuredContent.people);
      cursor = result.structuredContent.next_cursor ?? undefined;
    } while (cursor);
    const afterList = (await sb.stats()).apiRequests;
    const listed = afterList - before;
    const floor = gearedPages(1000);
    t.add(`list 1,000 people (list_people pages; ${seen.length} read)`, `${listed} requests`, `${floor} geared pages`, `${listed - floor >= 0 ? '+' : ''}${listed - floor}`, `≤ ${floor}`, listed <= floor && seen.length === 1000);

    const emails = seen.map((p) => p.email_address).filter(Boolean).slice(0, 100);
    let failures = 0;
    for (const email of emails) if ((await server.callTool('get_person', { email })).isError) failures++;
    const lookups = (await sb.stats()).apiRequests - afterList;
    t.add(`100 email look-ups after that (get_person email; ${failures} failed)`, `${lookups} requests`, '0', `+${lookups}`, '0', lookups === 0 && failures === 0);

    // The same look-ups through the directory alone, to tell the directory's cost from get_person's own read.
    const afterLookups = (await sb.stats()).apiRequests;
    for (const email of emails) await server.callTool('list_people', { query: email });
    const queries = (await sb.stats()).apiRequests - afterLookups;
    t.add('the same 100 through list_people query (information)', `${queries} requests`, '0', `+${queries}`, '—');
  } finally {
    await server.close();
    await sb.close();
  }
}

/** `n` get_person calls sent at once to a sandbox that allows 50 per sliding 10 s. */
async function parallelJob(t, n) {
  const sb = await startSandboxHost({ people: 200, rateLimit: STRICT });
  const server = ourServer(sb);
  try {
    await server.initialize();
    const ids = sb.personIds.slice(0, n);
    const t0 = performance.now();
    const results = await Promise.all(ids.map((id) => server.callTool('get_person', { person_id: id })));
    const seconds = (performance.now() - t0) / 1000;
    const failed = results.filter((r) => r.isError).length;
    const { throttled } = await sb.stats();
    const floor = (Math.ceil(n / STRICT.max) - 1) * (STRICT.windowMs / 1000);
    t.add(`${n} parallel get_person, strict 50/10 s: seconds`, `${seconds.toFixed(2)} s`, `${floor} s`, `${signed(seconds - floor, 2)} s`, `≤ ${floor + 1} s (floor + 1 s), 0 failed`, seconds <= floor + 1 && failed === 0);
    t.add(`${n} parallel get_person: 429s from the sandbox (${failed} calls failed)`, String(throttled), '0', `+${throttled}`, '0', throttled === 0);
  } finally {
    await server.close();
    await sb.close();
  }
}

/**
 * reconcile_people with a 5,000-row roster (4,500 of the account's addresses, a third in capitals, and 500 unknown)
 * against 10,000 people. Requests: the directory's pages. Time: the call beside its floor, measured in the same run:
 * reading the same pages with raw HTTP (following Link, as the server must), plus a bare v2 SDK tool call taking the
 * same roster and answering as many characters as our answer has; both with the budget out of the way and our
 * cache off (BASECAMP_CACHE_TTL=0), so every call reads the directory afresh; medians of interleaved rounds.
 */
async function reconcileJob(t) {
  const PEOPLE = 10_000;
  const ROWS = 5_000;
  const UNKNOWN = 500;
  const ROUNDS = 5;
  const sb = await startSandboxHost({ people: PEOPLE, rateLimit: UNLIMITED });
  const server = ourServer(sb, { ...UNLIMITED_ENV, BASECAMP_CACHE_TTL: '0' });
  const bare = bareServer();
  try {
    await server.initialize();
    await bare.initialize();
    const known = sb.emails.slice(0, ROWS - UNKNOWN).map((e, i) => ({ email_address: i % 3 ? e : e.toUpperCase() }));
    const roster = [...known, ...Array.from({ length: UNKNOWN }, (_, i) => ({ email_address: `new.hire${i}@roster.example` }))];
    const headers = { authorization: `Bearer ${sb.token}`, 'user-agent': 'basecamp-people-mcp bench (bench@example.com)' };
    let answerChars = 0;
    const measures = {
      raw: async () => {
        let pages = 0;
        for (let url = `${sb.url}/${sb.accountId}/people.json`; url; pages++) {
          const res = await request(url, { headers });
          if (res.statusCode !== 200) throw new Error(`raw GET answered ${res.statusCode}`);
          await res.body.json();
          url = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ''))?.[1];
        }
        return pages;
      },
      bare: async () => (await bare.callTool('sized_answer', { roster, bytes: answerChars })).content[0].text.length,
      ours: async () => {
        const before = (await sb.stats()).apiRequests;
        const result = await server.callTool('reconcile_people', { roster });
        if (result.isError) throw new Error(`reconcile_people failed: ${result.content[0].text}`);
        const s = result.structuredContent;
        if (s.matched !== ROWS - UNKNOWN || s.missing_in_basecamp.length !== UNKNOWN) throw new Error(`reconcile_people answered ${s.matched} matched, ${s.missing_in_basecamp.length} missing`);
        answerChars = JSON.stringify(result).length;
        return (await sb.stats()).apiRequests - before;
      },
    };
    const times = { raw: [], bare: [], ours: [] };
    const counts = { raw: [], ours: [] };
    for (let round = -1; round < ROUNDS; round++) {
      for (const name of ['ours', 'raw', 'bare']) {
        const t0 = performance.now();
        const n = await measures[name]();
        const elapsed = performance.now() - t0;
        if (round >= 0) times[name].push(elapsed);
        counts[name]?.push(n);
      }
    }
    const pages = gearedPages(PEOPLE);
    const requests = Math.max(...counts.ours);
    t.add(
      `reconcile_people: ${ROWS.toLocaleString('en')} roster rows against ${PEOPLE.toLocaleString('en')} people`,
      `${requests} requests`,
      `${pages} geared pages`,
      signed(requests - pages, 0),
      `≤ ${pages}`,
      requests <= pages && counts.raw.every((n) => n === pages),
    );
    const raw = median(times.raw);
    const bareCall = median(times.bare);
    const floor = raw + bareCall;
    const ours = median(times.ours);
    const margin = reconcileMargin(pages, ROWS + PEOPLE);
    t.add(
      `reconcile_people: the call, median (${mb(answerChars / 1e6)} answer; budget out of the way, cache off)`,
      ms(ours),
      `${ms(floor)} = raw HTTP reads of the ${pages} pages ${ms(raw)} + bare tool call, same roster and answer size ${ms(bareCall)}`,
      `${signed(ours - floor, 0)} ms`,
      `≤ floor + ${ms(margin)}`,
      ours <= floor + margin,
    );
  } finally {
    await bare.close();
    await server.close();
    await sb.close();
  }
}

/**
 * get_person calls per second from HTTP_CLIENTS v2 clients pinned to the 2026-07-28 era, each calling in a loop,
 * over stateless streamable HTTP: ours (`serve --http --stateless`) beside the bare v2 `createMcpHandler` server,
 * whose get_person reads the same sandbox person over HTTP (bench/bare-server.mjs). The sandbox and our budget
 * are raised out of the way. The two are measured in short alternating slices, so that load from outside the bench
 * (the machine is shared) falls on both alike; each one's rate is its calls over its time in all slices.
 */
async function throughputJob(t) {
  const sb = await startSandboxHost({ people: 200, rateLimit: UNLIMITED });
  const bare = bareHttpServer(sb);
  const ours = ourHttpServer(sb, ['--stateless'], UNLIMITED_ENV);
  const clients = [];
  try {
    const [bareUrl, ourUrl] = await Promise.all([bare.started, ours.started]);
    const bareClients = await connectClients(bareUrl, { pin: ERA });
    clients.push(...bareClients);
    const ourClients = await connectClients(ourUrl, { pin: ERA });
    clients.push(...ourClients);
    const ids = sb.personIds;
    const totals = { bare: { calls: 0, seconds: 0 }, ours: { calls: 0, seconds: 0 } };
    const failures = { bare: 0, ours: 0 };
    const sides = { bare: bareClients, ours: ourClients };
    for (const name of ['ours', 'bare']) failures[name] += (await hammer(sides[name], ids, HTTP_WARM_UP_S)).failed;
    for (let slice = 0; slice < HTTP_SLICES; slice++) {
      for (const name of slice % 2 ? ['bare', 'ours'] : ['ours', 'bare']) {
        const { calls, failed, seconds } = await hammer(sides[name], ids, HTTP_SLICE_S);
        failures[name] += failed;
        totals[name].calls += calls;
        totals[name].seconds += seconds;
      }
    }
    const bareRate = totals.bare.calls / totals.bare.seconds;
    const ourRate = totals.ours.calls / totals.ours.seconds;
    const ratio = ourRate / bareRate;
    const rss = `RSS after: ours ${mb(ours.rssMb())}, bare ${mb(bare.rssMb())}`;
    t.add(
      `get_person calls/s, ${HTTP_CLIENTS} ${ERA} clients, stateless HTTP (budget out of the way; ${failures.ours} + ${failures.bare} failed)`,
      `${ourRate.toFixed(0)} calls/s`,
      `${bareRate.toFixed(0)} calls/s bare v2 createMcpHandler server reading the same person (${rss})`,
      `${ratio.toFixed(2)} ×`,
      '≥ 0.80 × bare, 0 failed',
      ratio >= 0.8 && failures.ours + failures.bare === 0,
    );
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all([bare.close(), ours.close()]);
    await sb.close();
  }
}

/** `HTTP_CLIENTS` v2 clients on `url`, each with its own transport, connected one after another. */
async function connectClients(url, mode) {
  const clients = [];
  try {
    for (let i = 0; i < HTTP_CLIENTS; i++) {
      const client = new Client({ name: `bench-${i}`, version: '0' }, { versionNegotiation: { mode } });
      clients.push(client);
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    }
  } catch (error) {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    throw error;
  }
  return clients;
}

/** Every client calls get_person in a loop for `seconds`; answers with the wrong person count as failed. */
async function hammer(clients, ids, seconds) {
  let calls = 0;
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < until) {
        const id = ids[next++ % ids.length];
        try {
          const result = await client.callTool({ name: 'get_person', arguments: { person_id: id } });
          if (result.isError || result.structuredContent?.person?.id !== id) failed++;
          else calls++;
        } catch (error) {
          if (failed++ === 0) log(`throughput: a call failed: ${error.message ?? error}`);
        }
      }
    }),
  );
  return { calls, failed, seconds: (performance.now() - t0) / 1000 };
}

/** A dry-run offboarding plan for a person on 50 extra projects (plus the sandbox's own few). */
async function offboardingJob(t) {
  const { sb, requests, planned } = await dryRunPlan({ people: 12, rateLimit: STRICT, extraProjectsFor: 50 });
  // The floor: the person, the signed-in person (to refuse offboarding oneself), the project lists of each
  // status, and every member page of every project the signed-in person can see (any could hold them).
  const listPages = ['active', 'archived', 'trashed'].reduce((n, s) => n + gearedPages(sb.projects.filter((p) => p.status === s).length), 0);
  const memberPages = sb.projects.reduce((n, p) => n + gearedPages(p.members), 0);
  const floor = 2 + listPages + memberPages;
  addPlanRow(t, 'offboarding plan', sb, requests, planned, floor, `${memberPages} member pages + ${listPages} project-list pages + person + me`);
}

/**
 * The same plan on a Basecamp 2 account, which lists one person's projects in one request: the floor is that
 * request, the person and the signed-in person, whatever the number of projects.
 */
async function bcxOffboardingJob(t) {
  const { sb, requests, planned } = await dryRunPlan({ people: 12, rateLimit: { max: 500, windowMs: 10_000 }, extraProjectsFor: 50, product: 'bcx' });
  addPlanRow(t, 'Basecamp 2 offboarding plan', sb, requests, planned, 3, 'person + me + their projects (one request)');
}

/** `trash_person dry_run` for the sandbox's offboardee, on a sandbox of its own: the API requests it cost. */
async function dryRunPlan(options) {
  const sb = await startSandboxHost(options);
  const server = ourServer(sb);
  try {
    await server.initialize();
    const before = (await sb.stats()).apiRequests;
    const result = await server.callTool('trash_person', { person_id: sb.offboardee, dry_run: true });
    if (result.isError) throw new Error(`trash_person failed: ${result.content[0].text}`);
    return { sb, requests: (await sb.stats()).apiRequests - before, planned: result.structuredContent.projects.length };
  } finally {
    await server.close();
    await sb.close();
  }
}

function addPlanRow(t, name, sb, requests, planned, floor, floorMadeOf) {
  t.add(
    `${name} (trash_person dry_run; on ${planned} of ${sb.projects.length} visible projects)`,
    `${requests} requests`,
    `${floor} = ${floorMadeOf}`,
    `${requests - floor >= 0 ? '+' : ''}${requests - floor}`,
    `≤ ${floor}`,
    requests <= floor && planned >= 50,
  );
}

function printTable(rows) {
  const headers = { measure: 'measure', ours: 'ours', floor: 'floor', versus: 'vs floor', target: 'target', result: 'result' };
  const all = [headers, ...rows];
  const widths = Object.fromEntries(Object.keys(headers).map((k) => [k, Math.max(...all.map((r) => r[k].length))]));
  const line = (r) => `| ${Object.keys(headers).map((k) => r[k].padEnd(widths[k])).join(' | ')} |`;
  const out = [line(headers), `|${Object.keys(headers).map((k) => '-'.repeat(widths[k] + 2)).join('|')}|`, ...rows.map(line)];
  process.stdout.write(`\n${out.join('\n')}\n\nTotal bench time ${((performance.now() - startedAt) / 1000).toFixed(0)} s (node ${process.version}).\n`);
  const missed = rows.filter((r) => r.result === 'MISS');
  if (missed.length) {
    process.stderr.write(`\n${missed.length} target(s) missed:\n${missed.map((r) => `  - ${r.measure}: ${r.ours} (target ${r.target})`).join('\n')}\n`);
    process.exitCode = 1;
  }
}
