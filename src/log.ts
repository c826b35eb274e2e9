import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Logs go to stderr: on stdio, stdout belongs to JSON-RPC. A line logged while a tool call runs also goes to the
 * client that made the call, as an MCP log message (the logging capability; the client's logging/setLevel
 * filters it), and to no other client. Nothing here ever receives a secret; `redact` is a last line of defence
 * for messages built from upstream text.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold: LogLevel = (process.env.BASECAMP_LOG_LEVEL as LogLevel | undefined) ?? 'info';
if (!(threshold in order)) threshold = 'info';

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

const secretPatterns: RegExp[] = [
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{12,}/gi,
  /("?(?:access_token|refresh_token|client_secret|code)"?\s*[:=]\s*"?)[^"&\s,}]+/gi,
];

export function redact(text: string): string {
  return secretPatterns.reduce((acc, re) => acc.replace(re, '$1[redacted]'), text);
}

/** Where a tool call's log lines go besides stderr: the calling client. */
export type LogSink = (level: Exclude<LogLevel, 'silent'>, message: string) => void;
const callSink = new AsyncLocalStorage<LogSink>();

/** Runs `fn` with its log lines (and those of everything it awaits) also sent to `sink`. */
export function withLogSink<T>(sink: LogSink, fn: () => T): T {
  return callSink.run(sink, fn);
}

function write(level: Exclude<LogLevel, 'silent'>, message: string): void {
  if (order[level] < order[threshold]) return;
  const text = redact(message);
  process.stderr.write(`[basecamp-people-mcp] ${level}: ${text}\n`);
  callSink.getStore()?.(level, text);
}

export const log = {
  debug: (m: string) => write('debug', m),
  info: (m: string) => write('info', m),
  warn: (m: string) => write('warn', m),
  error: (m: string) => write('error', m),
};
