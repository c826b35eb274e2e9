/**
 * Tool schemas every client can read. zod 4 writes a nullable primitive as `type: ["string", "null"]` and a
 * loose object's extra keys as `additionalProperties: {}`: legal JSON Schema, but clients that map tool schemas
 * onto a single-`type` dialect (the OpenAPI subset of Gemini function declarations, the Inspector's `--strict`
 * check) reject or warn about both. Rewritten here, once, for every tool: the same contract, spelled portably.
 */
type Json = unknown;

/** A copy of `schema` with each `type` array split into `anyOf` branches and each empty `additionalProperties` as `true`. */
export function portableSchema<T extends Json>(schema: T): T {
  return rewrite(schema) as T;
}

function rewrite(node: Json): Json {
  if (Array.isArray(node)) return node.map(rewrite);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value)) {
      // Property names are data, not keywords: only their schemas are rewritten.
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, rewrite(sub)]));
    } else if (key === 'additionalProperties' && isEmptySchema(value)) {
      out[key] = true;
    } else {
      out[key] = rewrite(value);
    }
  }
  const type = out.type;
  if (Array.isArray(type) && !('anyOf' in out)) {
    // zod folds only bare type branches into an array, so each type becomes one bare branch again.
    delete out.type;
    out.anyOf = type.map((t: Json) => ({ type: t }));
  }
  return out;
}

const isEmptySchema = (value: Json) => !!value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0;
