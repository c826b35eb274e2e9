/**
 * What both products' seeds draw from: one deterministic random source and the pool of names, so a seed
 * and a size always give the same account.
 */

/** The shape of a seeded account: how many people (at least 8; default 120), which seed, which account id. */
export interface SeedOptions {
  people?: number;
  seed?: number;
  accountId?: number;
}

/** What both products' seeded accounts hold, whatever their people and projects look like. */
export interface SeededAccount<Person, Project> {
  accountId: number;
  accountName: string;
  ownerId: number;
  /** People on the account (not deleted). */
  people: Map<number, Person>;
  projects: Map<number, Project>;
  /** The id the next person added (invited, created) takes. */
  nextPersonId: number;
}

/** mulberry32: tiny, fast, deterministic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FIRST_NAMES = ['Ada', 'Bea', 'Cyrus', 'Dana', 'Eli', 'Fatima', 'Gus', 'Hana', 'Ivan', 'Jan', 'Kemi', 'Luis', 'Mina', 'Noor', 'Otto', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tove', 'Uma', 'Viktor', 'Wen', 'Ximena', 'Yusuf', 'Zoe'];
export const LAST_NAMES = ['Abbott', 'Brandt', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quispe', 'Rossi', 'Silva', 'Tanaka', 'Ueda', 'Varga', 'Weber', 'Yilmaz', 'Zhang'];
