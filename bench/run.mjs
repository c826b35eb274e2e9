// npm run bench: speed and budget targets, measured against the sandbox on loopback with the REAL
// 50/10 s limit on both sides. Exits non-zero when a target is missed. Timing lives here, not in tests.
import { startSandbox } from '../dist/sandbox/server.js';
import { createService, StaticCredentials } from '../dist/service.js';
import { loadConfig } from '../dist/config.js';

function serviceFor(sb) {
  const config = {
    ...loadConfig({ BASECAMP_ACCESS_TOKEN: sb.token, BASECAMP_TOKEN_FILE: '/nonexistent' }),
    apiUrl: sb.url,
    launchpadUrl: sb.url,
    accountId: sb.accountId,
  };
  return createService(config, { credentials: new StaticCredentials(sb.token, 'bench') });
}

const results = [];
let failed = false;
function report(name, value, target, ok) {
  results.push({ measure: name, value, target });
  if (!ok) failed = true;
}

// 1. Listing 1,000 people: how many requests, how long, how much memory.
{
  const sb = await startSandbox({ people: 1000 });
  const service = serviceFor(sb);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const all = await service.directory.people();
  const ms = performance.now() - t0;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
  const requests = sb.apiRequests().length;
  report('people read (1,000 on the account)', all.items.length, '= 1000', all.items.length === 1000);
  report('requests to list 1,000 people', requests, '<= 14 (geared pages 15/30/50/100)', requests <= 14);
  report('time to list 1,000 people (ms)', Math.round(ms), '< 2000', ms < 2000);
  report('heap growth while listing 1,000 people (MB)', Number(heapMb.toFixed(1)), '< 50', heapMb < 50);
  const t1 = performance.now();
  for (let i = 0; i < 100; i++) await service.directory.findByEmail('jan@acme.example');
  report('100 email look-ups after that (ms, cached)', Math.round(performance.now() - t1), '< 200, no requests', sb.apiRequests().length === requests);
  await service.close();
  await sb.close();
}

// 2. 75 parallel look-ups against the 50/10 s budget: no 429, done in about one window.
{
  const sb = await startSandbox({ people: 200 });
  const service = serviceFor(sb);
  const ids = [...sb.data.people.keys()].slice(0, 75);
  const t0 = performance.now();
  const out = await Promise.allSettled(ids.map((id) => service.api.getPerson(id)));
  const s = (performance.now() - t0) / 1000;
  const failures = out.filter((r) => r.status === 'rejected').length;
  report('75 parallel get_person: failures', failures, '= 0', failures === 0);
  report('75 parallel get_person: 429s from Basecamp', sb.throttled, '= 0', sb.throttled === 0);
  report('75 parallel get_person: seconds', Number(s.toFixed(2)), '10-12 (50 at once, 25 after the window slides)', s >= 9.5 && s < 12.5);
  await service.close();
  await sb.close();
}

console.table(results);
if (failed) {
  console.error('A benchmark target was missed.');
  process.exitCode = 1;
}
