import { InvalidInputError, KnownError, NotConfiguredError, NotSignedInError } from './errors.js';
import { AuthenticationError, BasecampError, CancelledError, OutcomeUnknownError, RateLimitedError } from './basecamp/errors.js';
import { log } from './log.js';
import { jsonLine, keepLines, oneLine } from './one-line.js';
import type { ToolOutput } from './tools/lib/define.js';

export type ResultContent = { type: 'text'; text: string } | { type: 'resource'; resource: { uri: string; mimeType: string; text: string } };

export interface TextResult {
  [key: string]: unknown;
  content: ResultContent[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

/**
 * The summary, then the tool's own lines or the structured content as compact JSON; the structured content
 * complete and raw. No field can forge a line of the text (src/one-line.ts): the summary is one line, the
 * tool's lines stay the lines it joined, and the JSON holds no raw line separator.
 */
export function successResult(output: ToolOutput<Record<string, unknown>>): TextResult {
  const body = output.text === undefined ? jsonLine(output.structured) : keepLines(output.text);
  const summary = oneLine(output.summary);
  return {
    content: [
      { type: 'text', text: body ? `${summary}\n${body}` : summary },
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
    // Not logged: the person's own input, a missing sign-in (its link is for the person, not for logs), a cancel.
    if (!(error instanceof InvalidInputError || error instanceof NotConfiguredError || error instanceof NotSignedInError || error instanceof CancelledError)) {
      log.info(`${toolName} failed: ${oneLine(message)}${requestId ? ` (X-Request-Id ${requestId})` : ''}`);
    }
  } else {
    kind = 'internal';
    message = `Unexpected failure in ${toolName}: ${error instanceof Error ? error.message : String(error)}. This is a bug in basecamp-people-mcp; nothing more was attempted.`;
    log.error(`${toolName}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  // A write stopped part-way also says, as structuredContent, exactly what was and was not done.
  // The message is one line (names and Basecamp's words in it cannot forge another); lines meant as lines come in `text`.
  const lines = error instanceof KnownError && error.text ? `\n${keepLines(error.text)}` : '';
  const text = `${toolName} failed: ${oneLine(message)}${lines}\n\n${jsonLine({ error: kind, ...details })}`;
  return { content: [{ type: 'text', text }], ...(structuredContent ? { structuredContent } : {}), isError: true };
}
