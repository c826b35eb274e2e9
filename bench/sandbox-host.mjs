// The sandbox Basecamp in its own process (forked by run.mjs with an IPC channel), so that the server under
// test, the floor's raw HTTP client and the sandbox do not share an event loop. The one place the bench
// depends on the sandbox's module path and data shape.
import { startSandbox } from '../dist/sandbox.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const sandbox = await startSandbox({ people: options.people, rateLimit: options.rateLimit, product: options.product });
const bcx = options.product === 'bcx' ? sandbox.bcx : undefined;
const offboardee = [...(bcx ?? sandbox.data).people.values()].find((p) => p.email_address === 'jan@acme.example');
if (options.extraProjectsFor) (bcx ? addBcxProjectsWith : addProjectsWith)(offboardee.id, options.extraProjectsFor);

/** The same on the Basecamp 2 account: projects whose accesses are the owner and the person. */
function addBcxProjectsWith(personId, count) {
  const template = bcx.projects.get(4_000_003);
  let id = Math.max(...bcx.projects.keys()) + 1;
  for (let i = 1; i <= count; i++, id++) {
    bcx.projects.set(id, { ...template, id, name: `Bench project ${i}`, accesses: new Map([[bcx.ownerId, { is_client: false }], [personId, { is_client: false }]]) });
  }
}

/** Projects the owner and one person are on, copied from an existing one so they keep the sandbox's shape. */
function addProjectsWith(personId, count) {
  const template = [...sandbox.data.projects.values()].find((p) => p.purpose === 'topic' && p.status === 'active');
  let id = Math.max(...sandbox.data.projects.keys()) + 1;
  for (let i = 1; i <= count; i++, id++) {
    sandbox.data.projects.set(id, {
      ...template,
      id,
      name: `Bench project ${i}`,
      app_url: template.app_url.replace(/\d+$/, String(id)),
      members: new Set([sandbox.data.ownerId, personId]),
    });
  }
}

/** What the floor of an offboarding plan is made of: every project the signed-in owner can see, and its members. */
function visibleProjects() {
  if (bcx) return [...bcx.projects.values()].filter((p) => p.accesses.has(bcx.ownerId)).map((p) => ({ status: p.trashed ? 'trashed' : p.archived ? 'archived' : 'active', members: p.accesses.size }));
  return [...sandbox.data.projects.values()]
    .filter((p) => p.members.has(sandbox.data.ownerId))
    .map((p) => ({ status: p.status, members: p.members.size }));
}

process.on('message', (message) => {
  if (message.type === 'stats') {
    const api = sandbox.apiRequests();
    process.send({
      type: 'stats',
      apiRequests: api.length,
      throttled: sandbox.throttled,
      recent: api.slice(message.since ?? 0).map((r) => ({ method: r.method, path: r.path, status: r.status })),
    });
  } else if (message.type === 'close') {
    sandbox.close().then(() => process.exit(0));
  }
});

process.send({
  type: 'ready',
  url: sandbox.url,
  token: sandbox.token,
  accountId: sandbox.accountId,
  personIds: [...sandbox.data.people.values()].filter((p) => p.personable_type === 'User').map((p) => p.id),
  emails: [...sandbox.data.people.values()].map((p) => p.email_address).filter(Boolean),
  offboardee: offboardee.id,
  projects: visibleProjects(),
});
