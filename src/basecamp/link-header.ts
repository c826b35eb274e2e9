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
  const m = /^<([^>]*)>(.*)$/s.exec(part);
  if (!m) return undefined;
  const uri = m[1]!.trim();
  const rels: string[] = [];
  // Parameters: ;name=value or ;name="quoted value"
  const paramRe = /;\s*([A-Za-z0-9!#$&+\-.^_`|~*]+)\s*(?:=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*)))?\s*/g;
  const rest = m[2]!;
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

/**
 * The next page's URL, or undefined. Relative references resolve against the request URL. A link to
 * another origin, or from https to http, is refused (returns undefined, and `refused` says why), so a
 * hostile or broken header can never send our token elsewhere.
 */
export function nextPageUrl(
  header: string | null | undefined,
  requestUrl: string,
): { url?: string; refused?: string } {
  const next = parseLinkHeader(header).find((p) => p.rels.includes('next'));
  if (!next) return {};
  let target: URL;
  const base = new URL(requestUrl);
  try {
    target = new URL(next.uri, base);
  } catch {
    return { refused: `unparseable next link ${JSON.stringify(next.uri)}` };
  }
  if (base.protocol === 'https:' && target.protocol === 'http:') {
    return { refused: `next link downgrades https to http (${target.origin})` };
  }
  if (target.origin !== base.origin) {
    return { refused: `next link points to another origin (${target.origin})` };
  }
  return { url: target.toString() };
}
