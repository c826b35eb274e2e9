/**
 * undici, loaded with the first request rather than at start: a server that is only listed, or a process that
 * only prints its help, never parses it (about a third of the bundle). One shared import for every caller.
 * undici is CommonJS: imported dynamically from the bundle its exports arrive as `default` (natively, both).
 */
type Undici = typeof import('undici');
let loaded: Promise<Undici> | undefined;

export function undici(): Promise<Undici> {
  return (loaded ??= import('undici').then((m) => (m as Undici & { default?: Undici }).default ?? m));
}
