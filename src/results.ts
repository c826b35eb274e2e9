import {
  AuthenticationError,
  BasecampError,
  CancelledError,
  InvalidInputError,
  KnownError,
  NotConfiguredError,
  OutcomeUnknownError,
  RateLimitedError,
} from './basecamp/errors.js';
import { log } from './log.js';
import type { ToolOutput } from './tools/define.js';

export type ResultContent = { type: 'text'; text: string } | { type: 'resource'; resource: { uri: string; mimeType: string; text: string } };

export interface TextResult {
  [key: string]: unknown;
  content: ResultContent[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/** The summary, then the tool's own lines or the structured content as compact JSON; the structured content complete. */
export function successResult(output: ToolOutput<Record<string, unknown>>): TextResult {
  const body = output.text ?? JSON.stringify(output.structured);
  return {
    content: [
      { type: 'text', text: body ? `${output.summary}\n${body}` : output.summary },
      ...(output.attachments ?? []).map((resource) => ({ type: 'resource' as const, resource })),
    ],
    structuredContent: output.structured,
  };
}

/** The one place failures become tool results: what failed, why, and what to do next. */
export function errorResult(toolName: string, error: unknown): TextResult & { content: { type: 'text'; text: string }[] } {
  const details: Record<string, unknown> = {};
  let message: string;
  let kind: string;
  let structuredContent: Record<string, unknown> | undefined;
  if (error instanceof KnownError) {
    message = error.message;
    kind = error.kind;
    structuredContent = error.result;
    const requestId = error instanceof BasecampError ? error.requestId : undefined;
    if (error instanceof BasecampError && error.status !== undefined) details.status = error.status;
    if (requestId) details.request_id = requestId;
    if (error instanceof RateLimitedError) details.retry_after_seconds = error.retryAfterSeconds;
    if (error instanceof OutcomeUnknownError) details.outcome = 'unknown';
    if (error instanceof AuthenticationError) details.sign_in_again = error.signInAgain;
    if (!(error instanceof InvalidInputError || error instanceof NotConfiguredError || error instanceof CancelledError)) {
      log.info(`${toolName} failed: ${message}${requestId ? ` (X-Request-Id ${requestId})` : ''}`);
    }
  } else {
    kind = 'internal';
    message = `Unexpected failure in ${toolName}: ${error instanceof Error ? error.message : String(error)}. This is a bug in basecamp-people-mcp; nothing more was attempted.`;
    log.error(`${toolName}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  // A write stopped part-way also says, as structuredContent, exactly what was and was not done.
  const text = `${toolName} failed: ${message}\n\n${JSON.stringify({ error: kind, ...details })}`;
  return { content: [{ type: 'text', text }], ...(structuredContent ? { structuredContent } : {}), isError: true };
}
