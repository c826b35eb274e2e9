/**
 * `npm run demo`: starts the server exactly as an MCP client would (over stdio, against the built-in
 * sandbox account), calls every tool, and prints what each answered. No Basecamp account needed.
 * `npm run demo -- --product bcx` does the same on the sandbox's Basecamp 2 account.
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

type Result = { content: { type: string; text: string }[]; isError?: boolean; structuredContent?: Record<string, unknown> };

/** Requests per 10 s the sandbox allows on this tour (a real Basecamp 3/4/5 allows 50): enough that no step waits. */
const TOUR_REQUESTS_PER_10S = 1000;
/** Lines of a listing shown; the rest are counted. */
const SHOWN_LINES = 5;
/** Lines of a plan shown (its steps and its plan_token line). */
const PLAN_LINES = 12;

/** Plan tokens are long and opaque: a person reads their first characters (the demo itself passes them whole). */
const shortTokens = (text: string) => text.replace(/\b(eyJ[\w-]{9})[\w-]*\.[\w-]+/g, '$1…');
const out = (line = '') => process.stdout.write(`${shortTokens(line)}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--product');
  const product = at >= 0 ? args[at + 1] : (args.find((a) => a.startsWith('--product='))?.slice('--product='.length) ?? 'bc3');
  if (product !== 'bc3' && product !== 'bcx') throw new Error(`--product must be bc3 (Basecamp 3, 4 and 5) or bcx (Basecamp 2), got ${JSON.stringify(product)}`);
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  // The current protocol revision (2026-07-28), as Claude Code and the Inspector speak it.
  const client = new Client({ name: 'basecamp-people-mcp-demo', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  // Should the server still have to wait for Basecamp (a 429), it says so in a log message: shown, never a silent pause.
  client.setNotificationHandler('notifications/message', (n) => {
    if (/pausing|rate/i.test(String(n.params.data))) out(`    (server: ${String(n.params.data)})`);
  });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'serve', '--sandbox', '--product', product],
      env: { ...(process.env as Record<string, string>), BASECAMP_RATE_LIMIT: `${TOUR_REQUESTS_PER_10S}/10s`, BASECAMP_LOG_LEVEL: 'info' },
      stderr: 'ignore',
    }),
  );
  const { tools } = await client.listTools();
  out(
    `Connected over stdio (MCP ${client.getNegotiatedProtocolVersion() ?? '?'}) to basecamp-people-mcp on the SANDBOX ${product === 'bcx' ? 'Basecamp 2' : 'Basecamp 3/4/5'} account. ${tools.length} tools:`,
  );
  for (const t of tools) {
    const a = t.annotations ?? {};
    out(`  - ${t.name}: ${t.title}${a.readOnlyHint ? ' [read-only]' : a.destructiveHint ? ' [destructive]' : ''}`);
  }
  out();
  out(
    `The sandbox allows ${TOUR_REQUESTS_PER_10S} requests per 10 s here so that no step waits; a real ` +
      `${product === 'bcx' ? 'Basecamp 2 allows 500' : 'Basecamp 3/4/5 allows 50'} per 10 s, and the server queues requests to stay under it.`,
  );
  const step = async (what: string, name: string, args: Record<string, unknown> = {}) => {
    out();
    out(`> ${what}`);
    out(`  ${name}(${JSON.stringify(args)})`);
    // In 2026-07-28 a request asks for log messages itself (its log level): this tour wants the server's notices.
    const r = (await client.callTool({ name, arguments: args, _meta: { 'io.modelcontextprotocol/logLevel': 'info' } })) as Result;
    const text = r.content[0]?.text ?? '';
    const [summary, ...rest] = text.split('\n');
    const kind = r.isError ? /"error":"(\w+)"/.exec(text)?.[1] : undefined;
    out(`  ${kind === 'confirmation_required' ? 'REFUSED: ' : r.isError ? 'ERROR: ' : ''}${summary}`);
    // What follows the first line: a listing's lines, or a plan's steps and its plan_token (a refusal carries them
    // in its text, as a dry run does), never the JSON a model reads. The first lines, and how many more there are.
    const lines = rest.filter((line) => line.trim() && !line.startsWith('{') && !line.startsWith('next_cursor:'));
    const planned = kind === 'confirmation_required' || kind === 'plan_changed' || args.dry_run === true;
    const listing = !r.isError && ['list_people', 'list_projects', 'list_changes', 'access_report'].includes(name);
    if (planned || listing) {
      const shown = planned ? PLAN_LINES : SHOWN_LINES;
      for (const line of lines.slice(0, shown)) out(`    ${line.trim()}`);
      if (lines.length > shown) out(`    …${lines.length - shown} more`);
    }
    return r;
  };

  if (product === 'bcx') {
    await basecamp2Tour(step);
    await client.close();
    out();
    out('Done. Connect your own MCP client with: npx -y @modelcontextprotocol/inspector@2.12.0 node dist/cli.js serve --sandbox --product bcx (the Inspector needs Node 22.19 or later)');
    return;
  }
  await step('Which account is this?', 'get_account');
  await step('Who are our admins?', 'list_people', { role: 'admin' });
  await step('Everyone (every page is read; the tool pages its answer)', 'list_people', { limit: 5 });
  await step('Who is jan@acme.example?', 'get_person', { email: 'jan@acme.example' });
  const launch = await step('Find the Launch project', 'list_projects', { query: 'Launch' });
  const launchId = (launch.structuredContent?.projects as { id: number }[])[0]!.id;
  await step('Invite Dana to the Launch project', 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: launchId });
  await step('Invite Dana again: she already has access (no duplicate is made)', 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: launchId });
  const q3 = await step('Find Q3 Planning', 'list_projects', { query: 'Q3' });
  const q3Id = (q3.structuredContent?.projects as { id: number }[])[0]!.id;
  await step('Give Dana and Adam access to Q3 Planning', 'update_project_access', { project_id: q3Id, grant: ['dana@acme.example', 'adam@acme.example'] });
  await step('Invite three people at once (one of them is already here)', 'invite_people', {
    people: [{ email_address: 'lee@acme.example', name: 'Lee Park' }, { email_address: 'sam@acme.example', name: 'Sam Ruiz' }, { email_address: 'DANA@acme.example' }],
    project_ids: [q3Id],
  });
  await step('Invite a client from Globex to Launch', 'invite_person', { name: 'Gwen Globex', email_address: 'gwen@globex.example', company_name: 'Globex', project_id: launchId, as_client: true });
  await step('Which clients from Globex do we have?', 'list_people', { client: true, company: 'globex' });
  // This demo's client cannot ask a human (no elicitation): destructive changes need the exact plan's token.
  const tokenOf = (r: Result) => (r.structuredContent as { plan_token: string }).plan_token;
  const gwen = await step('Offboard the Globex client: the plan first (with a plan_token)', 'trash_person', { email: 'gwen@globex.example', dry_run: true });
  await step('Offboard the Globex client with that plan (revoked through the client endpoint)', 'trash_person', { email: 'gwen@globex.example', plan_token: tokenOf(gwen) });
  await step('Offboard jan@acme.example without a plan: refused, nothing changed', 'trash_person', { email: 'jan@acme.example' });
  const jan = await step('Offboard jan@acme.example: the plan first', 'trash_person', { email: 'jan@acme.example', dry_run: true });
  await step('Offboard jan@acme.example with that exact plan', 'trash_person', { email: 'jan@acme.example', plan_token: tokenOf(jan) });
  await step('What did we change?', 'list_changes', { limit: 5 });
  await step('Who can see Q3 Planning?', 'access_report', { project_id: q3Id });
  await step('Bad input is refused before anything is sent', 'get_person', { email: 'not-an-email' });
  await client.close();
  out();
  out('Done. Connect your own MCP client with: npx -y @modelcontextprotocol/inspector@2.12.0 node dist/cli.js serve --sandbox (the Inspector needs Node 22.19 or later)');
}

type Step = (what: string, name: string, args?: Record<string, unknown>) => Promise<Result>;

/** The same tools on a Basecamp 2 account: no HQ, invitations by email on a project, and a real removal. */
async function basecamp2Tour(step: Step): Promise<void> {
  const tokenOf = (r: Result) => (r.structuredContent as { plan_token: string }).plan_token;
  await step('Which account is this (and what can its API not do)?', 'get_account');
  await step('Who are our admins?', 'list_people', { role: 'admin' });
  await step('Who is jan@acme.example?', 'get_person', { email: 'jan@acme.example', include_projects: true });
  const launch = await step('Find the Launch project', 'list_projects', { query: 'Launch' });
  const launchId = (launch.structuredContent?.projects as { id: number }[])[0]!.id;
  await step('Archived projects too', 'list_projects', { status: 'archived' });
  await step('Invite without a project: Basecamp 2 has no HQ, so the error says how to find one', 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example' });
  await step('Invite Dana to Launch by email', 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: launchId });
  await step('Invite a client to Launch (a client project)', 'invite_person', { name: 'Gwen Globex', email_address: 'gwen@globex.example', project_id: launchId, as_client: true });
  await step('Who on Launch is a client?', 'list_people', { project_id: launchId, client: true });
  const revoke = await step('Take Dana off Launch: the plan first (no human to ask here)', 'update_project_access', { project_id: launchId, revoke: ['dana@acme.example'] });
  await step('Take Dana off Launch with that plan (one DELETE)', 'update_project_access', { project_id: launchId, revoke: ['dana@acme.example'], plan_token: tokenOf(revoke) });
  const jan = await step('Offboard jan@acme.example: the plan (one request lists every project of theirs)', 'trash_person', { email: 'jan@acme.example', dry_run: true });
  await step('Offboard jan@acme.example with that exact plan: removed from the account', 'trash_person', { email: 'jan@acme.example', plan_token: tokenOf(jan) });
  await step('The people removed from the account', 'list_people', { include_removed: true, types: ['Tombstone'] });
  await step('What did we change?', 'list_changes', { limit: 5 });
  await step('Which clients can see what?', 'access_report', { clients_only: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
