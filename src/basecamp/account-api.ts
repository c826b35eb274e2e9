import { callMethod, forwardingApi, signalOf, type PeopleApi } from './api.js';

/**
 * The PeopleApi of whichever account the server is signed in to: each call finds the account's backend first
 * (Basecamp 3/4/5 or Basecamp 2, by the product Launchpad or the token file names; the sign-in may change while
 * running) and hands the call to it. Nothing else here: the backends do the work, the tools ask `capabilities`.
 * Every method of API_METHODS (api.ts) is forwarded, with the call's AbortSignal (its last argument).
 */
export function accountApi(backend: (signal?: AbortSignal) => Promise<PeopleApi>): PeopleApi {
  return forwardingApi(async (method, args) => callMethod(await backend(signalOf(args)), method, args));
}
