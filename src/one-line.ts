/**
 * Text lines nobody can forge. Names, titles, companies, addresses, project names and Basecamp's own error
 * text are written by people other than the one reading a tool's answer: a name such as "Eve\nrevoked:
 * everyone" must not start a line of its own. Every character that ends a line somewhere (LF, CR, VT, FF, NEL
 * U+0085, LS U+2028, PS U+2029) or is a control character (C0, DEL, C1) is shown escaped (`\n`, `\u2028`);
 * nothing else changes. Structured content stays raw: JSON carries any string safely.
 *
 * src/results.ts applies it to every summary and failure message, and to every line of a tool's text; a tool
 * that builds lines of its own (a listing, a plan) escapes each field it puts in a line with `oneLine`.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
/** What JSON.stringify leaves raw that still breaks a line or is a control character. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escaped = (c: string): string => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One field on one line: line breaks and control characters escaped. */
export function oneLine(value: string): string {
  return value.replace(UNSAFE, escaped);
}

/** Lines a tool joined with "\n": those lines kept, anything else that would break or hide one escaped. */
export function keepLines(text: string): string {
  return text.split('\n').map(oneLine).join('\n');
}

/** Compact JSON with no raw line separator or control character in it (still JSON, the same value). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, escaped);
}
