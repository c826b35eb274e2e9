/**
 * RFC 8288 `Link` header parsing, tolerant of the malformed parts real servers send: a part that does
 * not parse is skipped, the others still count.
 */

export interface LinkPart {
  uri: string;
  rels: string[];
}

/** Splits on commas that are outside `<...>` and outside quoted strings. */
function splitParts(header: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inAngle = false;
  let inQuote = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i]!;
    if (inQuote) {
      current += ch;
      if (ch === '\\' && i + 1 < header.length) current += header[++i];
      else if (ch === '"') inQuote = false;
      continue;
    }
    if (ch === '"') inQuote = true;
    else if (ch === '<') inAngle = true;
    else if (ch === '>') inAngle = false;
    else if (ch === ',' && !inAngle) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parsePart(part: string): LinkPart | undefined {
  // A stray `>` before `<url>` is a typo whose intent is clear; anything else before `<` is not.
  const m = /^[\s>]*<([^>]*)>(.*)$/s.exec(part);
  if (!m) return undefined;
  const uri = m[1]!.trim();
  const rels: string[] = [];
  // Parameters: ;name=value or ;name="quoted value"
  const paramRe = /;\s*([A-Za-z0-9!#$&+\-.^_`|~*]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*)))?\s*/g;
  const rest = m[2]!.trimStart(); // `<url> ; rel=next`: space before the first `;` is common
  let consumed = 0;
  let pm: RegExpExecArray | null;
  while ((pm = paramRe.exec(rest)) !== null) {
    if (pm.index !== consumed) return undefined; // junk between parameters: malformed
    consumed = paramRe.lastIndex;
    const name = pm[1]!.toLowerCase();
    const value = pm[2] !== undefined ? pm[2].replace(/\\(.)/g, '$1') : (pm[3] ?? '');
    // RFC 8288: occurrences of rel after the first are ignored.
    if (name === 'rel' && rels.length === 0) {
      rels.push(...value.toLowerCase().split(/\s+/).filter(Boolean));
    }
  }
  if (rest.slice(consumed).trim().length > 0) return undefined;
  return { uri, rels };
}

export function parseLinkHeader(header: string | null | undefined): LinkPart[] {
  if (!header) return [];
  const out: LinkPart[] = [];
  for (const raw of splitParts(header)) {
    const parsed = parsePart(raw);
    if (parsed) out.push(parsed);
  }
  return out;
}

/** A next link resolved against the request URL (fragment dropped), or why it cannot be followed. */
export type NextLink = { url: string } | { refused: string };

/** A part that names `next` as a relation somewhere (`rel=next`, `rel="prev next"`), parsed or not. */
const NAMES_NEXT = /\brel\s*=\s*(?:"[^"]*\bnext\b|[^;,\s"]*\bnext\b)/i;
/** What RFC 3986 never allows in a URI reference (after trimming): whitespace, quotes, angle brackets and the like. */
const NOT_IN_A_URI = /[\s<>"{}|\\^`]/;

/**
 * Every rel="next" link, in order. Relative references resolve against the request URL. An empty link,
 * one that does not parse, one to another origin, or one from https to http is refused (with why), so a
 * hostile or broken header can never send our token elsewhere. A part that names `next` but cannot be read
 * as a next link (malformed, or `next` in a second rel that RFC 8288 ignores) is refused too: a next page
 * that was announced is never taken for the last page.
 */
function nextPageLinks(header: string | null | undefined, requestUrl: string): NextLink[] {
  const base = new URL(requestUrl);
  const links: NextLink[] = [];
  for (const raw of header ? splitParts(header) : []) {
    const part = parsePart(raw);
    if (part?.rels.includes('next')) links.push(resolveNextLink(part.uri, base));
    // Parsed: look at its parameters only (a URI may hold `rel=next` in its query). Not parsed: at all of it.
    else if (NAMES_NEXT.test(part ? raw.slice(raw.indexOf('>', raw.indexOf('<')) + 1) : raw)) links.push({ refused: `malformed next link ${shown(raw)}` });
  }
  return links;
}

/** A header's text quoted in a reason, at most 200 characters of it. */
const shown = (text: string) => JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);

function resolveNextLink(uri: string, base: URL): NextLink {
  if (uri === '') return { refused: 'the next link is empty' };
  if (NOT_IN_A_URI.test(uri)) return { refused: `malformed next link ${shown(uri)}` };
  let target: URL;
  try {
    target = new URL(uri, base);
  } catch {
    return { refused: `unparseable next link ${JSON.stringify(uri)}` };
  }
  if (base.protocol === 'https:' && target.protocol === 'http:') {
    return { refused: `next link downgrades https to http (${target.origin})` };
  }
  if (target.origin !== base.origin) {
    return { refused: `next link points to another origin (${target.origin})` };
  }
  return { url: withoutFragment(target) };
}

/** The form in which URLs are compared: absolute, without the fragment (never sent anyway). */
export function withoutFragment(url: URL | string): string {
  const copy = new URL(url);
  copy.hash = '';
  return copy.toString();
}

/**
 * The first usable next page: the first next link that is not refused and not in `alreadyRead`
 * (normalised URLs). `{}` when the header gives no next link; `{ refused }` saying why, when it gives
 * next links but none can be followed.
 */
export function nextPageUrl(
  header: string | null | undefined,
  requestUrl: string,
  alreadyRead: ReadonlySet<string> = new Set(),
): { url?: string; refused?: string } {
  const links = nextPageLinks(header, requestUrl);
  if (links.length === 0) return {};
  const reasons: string[] = [];
  for (const link of links) {
    if ('refused' in link) reasons.push(link.refused);
    else if (alreadyRead.has(link.url)) reasons.push(`the next link points at a page already read (${link.url})`);
    else return { url: link.url };
  }
  return { refused: reasons.join('; ') };
}
