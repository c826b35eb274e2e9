import { type Authenticate, NOT_FOUND, type Reply, type SandboxRequest, unauthorized } from '../shared/http-kit.js';
import { router } from '../shared/router.js';
import { accessRoutes } from './accesses.js';
import { BcxContext } from './context.js';
import { peopleRoutes } from './people.js';
import { projectRoutes } from './projects.js';
import type { BcxData, BcxPerson } from './seed.js';

/**
 * A fake Basecamp 2 ("bcx") API for one account, `/{account_id}/api/v1/...`, as docs/basecamp-api.md's
 * "Basecamp 2" section describes it, one route module each on the shared router: people (./people.ts, with
 * the trashed people and a real DELETE), projects (./projects.ts: active, archived, one by id, a person's)
 * and accesses (./accesses.ts: 50 per page, `?page=N`, no Link; grants by id or email, as team members or
 * clients; revoke). ETag/304 on reads, 401 for a bad or expired token, 404 for everything else (every
 * Basecamp 3/4/5 route included). User-Agent and rate limiting are checked in front of it, by the server.
 * Who may see and do what: ./context.ts and the route modules.
 */

/** The person on this account a token's grant stands for (the same Launchpad identity), if any. */
export type ResolvePerson = (personId: number) => BcxPerson | undefined;

export function bcxApi(data: BcxData, authenticate: Authenticate, resolve: ResolvePerson = (id) => data.people.get(id)): (req: SandboxRequest) => Reply {
  const dispatch = router([...peopleRoutes, ...projectRoutes, ...accessRoutes]);
  return (req) => {
    const auth = authenticate(req.headers.authorization);
    if (auth === 'expired' || !auth) return unauthorized(auth);
    const m = /^\/(\d+)\/api\/v1(\/.*)$/.exec(req.url.pathname);
    if (!m || Number(m[1]) !== data.accountId) return NOT_FOUND;
    // A token whose identity is not (or no longer) on this account sees nothing of it.
    const me = resolve(auth.personId);
    if (!me || !data.people.has(me.id)) return NOT_FOUND;
    const path = m[2]!.replace(/\.json$/, '');
    return dispatch(req.method, path, new BcxContext(data, req, me)) ?? NOT_FOUND;
  };
}
