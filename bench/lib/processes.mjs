// The processes the bench drives: MCP servers over stdio and over HTTP (ours, the bare floor) and sandbox hosts.
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
export const ourServer = (sandbox, extraEnv = {}) => new StdioServer(process.execPath, ['dist/cli.js', 'serve'], sandboxEnv(sandbox, extraEnv));

/** Our server's environment pointed at a sandbox in another process, as a signed-in user's would be at Basecamp. */
function sandboxEnv(sandbox, extraEnv) {
  return cleanEnv({
    BASECAMP_ACCESS_TOKEN: sandbox.token,
    BASECAMP_ACCOUNT_ID: String(sandbox.accountId),
    BASECAMP_API_URL: sandbox.url,
    BASECAMP_LAUNCHPAD_URL: sandbox.url,
    ...extraEnv,
  });
}

/**
 * An MCP server listening on streamable HTTP in a child process; `started` resolves with its /mcp URL, read from
 * the first line of its output matching `announces` (the bare floor prints it on stdout, ours logs it on stderr).
 */
export class HttpServerProcess {
  constructor(command, args, env, announces = /(http:\/\/127\.0\.0\.1:\d+\/mcp)/) {
    this.output = '';
    this.child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((done) => this.child.once('exit', (code, signal) => done({ code, signal })));
    this.started = new Promise((done, fail) => {
      const onData = (s) => {
        this.output = (this.output + s).slice(-4000);
        const url = announces.exec(this.output)?.[1];
        if (url && !this.url) done((this.url = url));
      };
      this.child.stdout.setEncoding('utf8').on('data', onData);
      this.child.stderr.setEncoding('utf8').on('data', onData);
      this.exited.then(({ code, signal }) => fail(new Error(`${args.join(' ')} exited (${code ?? signal}) before listening; output:\n${this.output}`)));
    });
  }

  /** Resident memory of the server process, from /proc (Linux). */
  rssMb() {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)[1]) / 1024;
  }

  async close() {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

/** The bare v2 floor over HTTP, its get_person reading the sandbox's person as ours does. */
export const bareHttpServer = (sandbox) =>
  new HttpServerProcess(process.execPath, ['bench/bare-server.mjs', '--http', JSON.stringify({ url: sandbox.url, token: sandbox.token, accountId: sandbox.accountId })], cleanEnv());
/** Ours over streamable HTTP on a free loopback port (no bearer token: the floor checks none either). */
export const ourHttpServer = (sandbox, flags = [], extraEnv = {}) =>
  new HttpServerProcess(
    process.execPath,
    ['dist/cli.js', 'serve', '--http', '--host', '127.0.0.1', '--port', '0', ...flags],
    sandboxEnv(sandbox, extraEnv),
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
