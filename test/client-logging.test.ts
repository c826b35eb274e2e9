import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { setLogLevel } from '../src/log.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { call, connectClient, sandboxService } from './helpers.js';

let sb: Sandbox | undefined;
let service: Service | undefined;
afterEach(async () => {
  setLogLevel('warn');
  await service?.close();
  await sb?.close();
});

/** The logging capability the server declares: a tool call's log lines reach the client that made the call. */
describe('log messages to the client', () => {
  it('a call\'s lines go to its own client (filtered by logging/setLevel), never to another client, and carry no token', async () => {
    setLogLevel('info');
    sb = await startSandbox();
    service = sandboxService(sb);
    const caller = await connectClient(service);
    const bystander = await connectClient(service);
    const heard = { caller: [] as LoggingMessageNotification['params'][], bystander: [] as LoggingMessageNotification['params'][] };
    caller.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.caller.push(n.params));
    bystander.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.bystander.push(n.params));

    sb.intercept((req) => (req.path.includes('/projects/') ? { status: 429, headers: { 'Retry-After': '3600' }, body: { error: 'slow down' } } : undefined));
    const r = await call(caller, 'list_people', { project_id: 2000004 });
    expect(r.isError).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.caller).toContainEqual(expect.objectContaining({ level: 'info', logger: 'basecamp-people-mcp', data: expect.stringMatching(/list_people failed: Basecamp's rate limit/) }));
    expect(heard.bystander).toEqual([]);
    expect(JSON.stringify(heard.caller)).not.toContain(sb.token);

    // The client asks for errors only: the same failure (logged at info) is no longer sent.
    await caller.setLoggingLevel('error');
    heard.caller.length = 0;
    await call(caller, 'list_people', { project_id: 2000004 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(heard.caller).toEqual([]);
    await caller.close();
    await bystander.close();
  });
});
