// The processes the bench drives: MCP servers over stdio (ours, the bare floor) and sandbox hosts.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..', '..');
const PROTOCOL_VERSION = '2025-11-25';

/**
 * A minimal JSON-RPC client over a child's stdio: no SDK client, so neither side of a comparison pays for
 * client-side schema validation, and the measurement is the server's.
 */
export class StdioServer {
  constructor(command, args, env) {
    this.pending = new Map();
    this.nextId = 1;
    this.stderr = '';
    this.startedAt = performance.now();
    this.child = spawn(command, args, { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done({ code, signal })));
    this.child.stderr.setEncoding('utf8').on('data', (s) => (this.stderr = (this.stderr + s).slice(-4000)));
    let buffered = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim()) this.onMessage(JSON.parse(line));
      }
    });
    this.exited.then(({ code, signal }) => {
      for (const { fail } of this.pending.values()) fail(new Error(`server exited (${code ?? signal}) with a request pending; stderr:\n${this.stderr}`));
      this.pending.clear();
    });
  }

  onMessage(message) {
    if (message.id !== undefined && message.method) {
      // A request from the server (elicitation, roots): the bench declares no such capability.
      this.send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not supported by the bench client' } });
      return;
    }
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) waiter.fail(new Error(`${waiter.method}: ${message.error.message}`));
    else waiter.done(message.result);
  }

  send(message) {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((done, fail) => {
      this.pending.set(id, { done, fail, method });
      this.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  /** Sends `initialize` and resolves with the ms from spawn to its answer. */
  async initialize() {
    await this.request('initialize', {
      protocolVersion: PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'bench', version: '0' },
    });
    const ms = performance.now() - this.startedAt;
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    return ms;
  }

  async callTool(name, args = {}) {
    const result = await this.request('tools/call', { name, arguments: args });
    return result;
  }

  /** Resident memory of the server process, from /proc (Linux). */
  rssMb() {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)[1]) / 1024;
  }

  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

/** A child environment without the caller's Basecamp settings, so a developer's real sign-in never leaks in. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(BASECAMP_|MCP_|REDIS_URL)/.test(k)) env[k] = v;
  }
  // The audit trail on, as users run it, but in a scratch file rather than the real config folder.
  return { ...env, BASECAMP_TOKEN_FILE: '/nonexistent/bench-token.json', BASECAMP_AUDIT_LOG: join(tmpdir(), `bpm-bench-audit-${process.pid}.jsonl`), ...extra };
}

export const bareServer = () => new StdioServer(process.execPath, ['bench/bare-server.mjs'], cleanEnv());
export const ourSandboxServer = () => new StdioServer(process.execPath, ['dist/cli.js', 'serve', '--sandbox'], cleanEnv());
/** The realistic case: a token and an API URL, the sandbox in another process. */
export const ourServer = (sandbox, extraEnv = {}) =>
  new StdioServer(
    process.execPath,
    ['dist/cli.js', 'serve'],
    cleanEnv({
      BASECAMP_ACCESS_TOKEN: sandbox.token,
      BASECAMP_ACCOUNT_ID: String(sandbox.accountId),
      BASECAMP_API_URL: sandbox.url,
      BASECAMP_LAUNCHPAD_URL: sandbox.url,
      ...extraEnv,
    }),
  );

/** A sandbox in its own process. `rateLimit` as the sandbox takes it; Basecamp's is 50 per 10 s. */
export async function startSandboxHost(options) {
  const child = fork(resolve(root, 'bench/sandbox-host.mjs'), [JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const info = await nextMessage(child, 'ready');
  return {
    ...info,
    async stats(since) {
      child.send({ type: 'stats', since });
      return nextMessage(child, 'stats');
    },
    async close() {
      child.send({ type: 'close' });
      await new Promise((done) => child.once('exit', done));
    },
  };
}

function nextMessage(child, type) {
  return new Promise((done, fail) => {
    const onMessage = (message) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      done(message);
    };
    const onExit = (code) => fail(new Error(`sandbox host exited (${code}) before sending ${type}`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}
