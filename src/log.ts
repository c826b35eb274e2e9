/**
 * Logs go to stderr only: on stdio, stdout belongs to JSON-RPC. Nothing here ever receives a secret;
 * `redact` is a last line of defence for messages built from upstream text.
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

function write(level: LogLevel, message: string): void {
  if (order[level] < order[threshold]) return;
  process.stderr.write(`[basecamp-people-mcp] ${level}: ${redact(message)}\n`);
}

export const log = {
  debug: (m: string) => write('debug', m),
  info: (m: string) => write('info', m),
  warn: (m: string) => write('warn', m),
  error: (m: string) => write('error', m),
};
