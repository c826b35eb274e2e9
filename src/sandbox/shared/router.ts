import type { Reply } from './http-kit.js';

/**
 * The router both fake products are built on: a table of method + path pattern → handler. A pattern names
 * its numeric parameters (`/projects/:project/accesses/:person`), and the handler gets them as numbers, typed
 * by name. The first route that matches answers; no match is the product's 404.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** The `:name`s of a pattern, as a union of string literals. */
type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

export interface Route<C> {
  method: Method;
  pattern: string;
  match(path: string): Record<string, number> | undefined;
  handle(ctx: C, params: Record<string, number>): Reply;
}

/** `route` for handlers of one context type `C` (a product's view of one request). */
export function routesFor<C>() {
  return <P extends string>(method: Method, pattern: P, handle: (ctx: C, params: Record<ParamNames<P>, number>) => Reply): Route<C> => {
    const names: string[] = [];
    const source = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_whole, name: string) => {
      names.push(name);
      return '(\\d+)';
    });
    const regex = new RegExp(`^${source}$`);
    return {
      method,
      pattern,
      match(path) {
        const m = regex.exec(path);
        return m ? Object.fromEntries(names.map((name, i) => [name, Number(m[i + 1])])) : undefined;
      },
      handle,
    };
  };
}

/** The handler of the first route for this method and path, applied; undefined when none matches. */
export function router<C>(routes: readonly Route<C>[]): (method: string, path: string, ctx: C) => Reply | undefined {
  return (method, path, ctx) => {
    for (const route of routes) {
      if (route.method !== method) continue;
      const params = route.match(path);
      if (params) return route.handle(ctx, params);
    }
    return undefined;
  };
}
