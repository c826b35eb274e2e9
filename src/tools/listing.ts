import { InvalidInputError } from '../basecamp/errors.js';

/**
 * Opaque cursors: an offset into the filtered list, bound to the query that made it so a cursor from
 * one listing cannot silently page through another.
 */
export function encodeCursor(offset: number, key: string): string {
  return Buffer.from(JSON.stringify({ o: offset, k: key })).toString('base64url');
}

export function decodeCursor(cursorText: string | undefined, key: string): number {
  if (!cursorText) return 0;
  let parsed: { o?: unknown; k?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursorText, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new InvalidInputError('cursor is not one this server issued; pass next_cursor exactly as returned, or omit it to start over.');
  }
  if (typeof parsed.o !== 'number' || !Number.isInteger(parsed.o) || parsed.o < 0) {
    throw new InvalidInputError('cursor is not one this server issued; pass next_cursor exactly as returned, or omit it to start over.');
  }
  if (parsed.k !== key) {
    throw new InvalidInputError('cursor belongs to a different listing (other filters); repeat the same filters, or omit cursor to start over.');
  }
  return parsed.o;
}

export function page<T>(items: T[], offset: number, size: number, key: string): { slice: T[]; next_cursor: string | null } {
  const slice = items.slice(offset, offset + size);
  const end = offset + slice.length;
  return { slice, next_cursor: end < items.length ? encodeCursor(end, key) : null };
}

export function matchesText(query: string | undefined, ...fields: (string | null | undefined)[]): boolean {
  if (!query) return true;
  const q = query.trim().toLowerCase();
  return fields.some((f) => f?.toLowerCase().includes(q));
}
