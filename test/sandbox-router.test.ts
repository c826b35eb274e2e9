import { describe, expect, it } from 'vitest';
import { router, routesFor } from '../src/sandbox/shared/router.js';

/** The router both sandbox products are built on (src/sandbox/shared/router.ts). */
const route = routesFor<string>();
const dispatch = router([
  route('GET', '/people/me', (who) => ({ status: 200, body: `${who} me` })),
  route('GET', '/people/:id', (who, { id }) => ({ status: 200, body: { who, id } })),
  route('DELETE', '/projects/:project/accesses/:person', (_who, params) => ({ status: 204, body: params })),
  route('GET', '/a.b', () => ({ status: 200 })),
]);

describe('sandbox router', () => {
  it('answers with the first route of the method whose whole pattern matches, parameters as numbers', () => {
    expect(dispatch('GET', '/people/me', 'olivia')).toEqual({ status: 200, body: 'olivia me' });
    expect(dispatch('GET', '/people/0042', 'olivia')).toEqual({ status: 200, body: { who: 'olivia', id: 42 } });
    expect(dispatch('DELETE', '/projects/7/accesses/9', 'x')).toEqual({ status: 204, body: { project: 7, person: 9 } });
  });

  it('matches nothing for another method, a partial path, a non-numeric parameter, or a pattern character taken literally', () => {
    expect(dispatch('POST', '/people/1', 'x')).toBeUndefined();
    expect(dispatch('GET', '/people/1/projects', 'x')).toBeUndefined();
    expect(dispatch('GET', '/x/people/1', 'x')).toBeUndefined();
    expect(dispatch('GET', '/people/one', 'x')).toBeUndefined();
    expect(dispatch('GET', '/aXb', 'x')).toBeUndefined();
    expect(dispatch('GET', '/a.b', 'x')).toEqual({ status: 200 });
  });
});
