import { InvalidInputError } from '../../errors.js';

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

/**
 * The key a listing's cursors are bound to: the listing's name and every filter that changes its result,
 * already normalised by the caller (lower-cased text, sets sorted and de-duplicated). Filters left out
 * (undefined) are dropped and the rest are written in name order, so equal filter sets give equal keys.
 */
export function listingKey(listing: string, filters: Record<string, unknown>): string {
  const given = Object.entries(filters)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([listing, Object.fromEntries(given)]);
}

/** A set argument as a cursor key holds it: sorted and de-duplicated (undefined stays undefined). */
export function normalSet<T extends string | number>(values: readonly T[] | undefined): T[] | undefined {
  if (!values) return undefined;
  return [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export type SortOrder = 'asc' | 'desc';

/** Names as people read them: case-insensitive ("ada" = "Ada"), accents and locale rules respected, "Room 2" before "Room 10". */
export const nameCollator = new Intl.Collator(undefined, { sensitivity: 'accent', numeric: true });

/**
 * A stable sort of `items` by `value`, ties by id (ascending, whatever the order). `value` gives a string (compared
 * with nameCollator) or a number; undefined (the field is missing) sorts last whatever the order.
 */
export function sortListing<T extends { id: number }>(items: readonly T[], value: (item: T) => string | number | undefined, order: SortOrder = 'asc'): T[] {
  const sign = order === 'desc' ? -1 : 1;
  const keyed = items.map((item) => ({ item, v: value(item) }));
  keyed.sort((a, b) => {
    if (a.v === undefined || b.v === undefined) {
      if (a.v !== b.v) return a.v === undefined ? 1 : -1;
    } else {
      const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : nameCollator.compare(String(a.v), String(b.v));
      if (c !== 0) return sign * c;
    }
    return a.item.id - b.item.id;
  });
  return keyed.map((k) => k.item);
}

/** A timestamp as a number to sort by; undefined when missing or not a date. */
export function timeValue(iso: string | null | undefined): number | undefined {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}
