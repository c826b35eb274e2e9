import { type Authenticate, NOT_FOUND, type Reply, type SandboxRequest, unauthorized } from '../shared/http-kit.js';
import { router } from '../shared/router.js';
import { accountRoutes } from './account.js';
import { clientRoutes } from './clients.js';
import { Bc3Context } from './context.js';
import { enrollmentRoutes } from './enrollments.js';
import { redactAnswer } from './masking.js';
import { peopleRoutes } from './people.js';
import { projectPeopleRoutes } from './project-people.js';
import { projectRoutes } from './projects.js';
import type { SandboxData } from './seed.js';

/**
 * A fake Basecamp 3/4/5 API for one account, `/{account_id}/...`, as docs/basecamp-api.md describes it: the
 * people and project endpoints the client uses, one route module each (./people.ts, ./projects.ts,
 * ./project-people.ts, ./account.ts, ./clients.ts, ./enrollments.ts) on the shared router; geared pages with
 * an absolute Link and X-Total-Count, ETag/304, 401 for a bad or expired token, 404 for everything else
 * (including the endpoints third-party guides invent). User-Agent and rate limiting are checked in front of
 * it, by the server.
 */

export interface BasecampOptions {
  /** Pretend the account is inactive (every API call answers 404 with `Reason: Account Inactive`). */
  inactive?: boolean;
  /**
   * Client seats on the account (`data.clientSeats`, changeable later): a client_users.json create that would
   * need more answers 429 without Retry-After. Default: 50 more than the seeded clients.
   */
  clientSeats?: number;
  /**
   * Most team members (Users who are not clients) the account may have (`data.userLimit`, changeable later):
   * an enrollment that would create more answers 507. Default: no limit.
   */
  userLimit?: number;
  /** `false`: an account without enrollments (POST /account/enrollments/people.json answers 404). */
  enrollments?: boolean;
}

export function basecampApi(data: SandboxData, options: BasecampOptions, authenticate: Authenticate): (req: SandboxRequest) => Reply {
  const dispatch = router([
    ...peopleRoutes,
    ...accountRoutes,
    ...projectRoutes,
    ...projectPeopleRoutes,
    ...clientRoutes,
    ...(options.enrollments === false ? [] : enrollmentRoutes),
  ]);
  return (req) => {
    const auth = authenticate(req.headers.authorization);
    if (auth === 'expired' || !auth) return unauthorized(auth);
    const m = /^\/(\d+)(\/.*)$/.exec(req.url.pathname);
    if (!m || Number(m[1]) !== data.accountId) return NOT_FOUND;
    if (options.inactive) return { status: 404, body: { error: 'Account Inactive' }, headers: { Reason: 'Account Inactive' } };
    // Basecamp's official SDK leaves `.json` off single resources; both spellings work.
    const path = m[2]!.replace(/\.json$/, '');
    // A token whose identity is not on this account sees nothing of it (as the Basecamp 2 side answers).
    if (!data.people.has(auth.personId)) return NOT_FOUND;
    const context = new Bc3Context(data, req, auth.personId);
    const reply = dispatch(req.method, path, context) ?? NOT_FOUND;
    // The people in a write's answer are masked for a non-admin as in any read (./masking.ts).
    if (req.method === 'GET' || reply.body === undefined) return reply;
    return { ...reply, body: redactAnswer(reply.body, context.me) };
  };
}
