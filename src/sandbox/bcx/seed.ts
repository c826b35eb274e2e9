/**
 * The data of the sandbox's Basecamp 2 ("bcx") account: deterministic for a given seed and size, shaped like
 * Basecamp 2's JSON (docs/basecamp-api.md, "Basecamp 2"). In Basecamp 2 being a client is a property of an
 * access (`is_client` on a project's accesses), not of the person.
 *
 * Fixed points tests rely on (any seed, `people` >= 8): people 3000001 Olivia Owner (the owner and an admin,
 * the token's person; the same identity and address as the Basecamp 3/4/5 owner), 3000002 Adam Admin (an admin,
 * not on every project), 3000003 Jan Jensen (a plain person on active, archived and trashed projects),
 * 3000004 Carla Client (a client on Launch), 3000005 Former Colleague (already deleted: in trashed.json only).
 * Projects: 4000001 All Hands (60 accesses, or every active person when fewer), 4000002 Launch (a client
 * project with clients), 4000003 Website Redesign (Adam is not on it), 4000004 Hiring (Jan is not on it),
 * 4000005-6 archived, 4000007 trashed. The owner is on every project.
 */

import { FIRST_NAMES, LAST_NAMES, rng, type SeededAccount, type SeedOptions } from '../shared/seed-kit.js';

export interface BcxPerson {
  id: number;
  identity_id: number;
  name: string;
  email_address: string;
  admin: boolean;
  trashed: boolean;
  avatar_url: string;
  created_at: string;
  updated_at: string;
}

export interface BcxProject {
  id: number;
  name: string;
  description: string;
  archived: boolean;
  trashed: boolean;
  is_client_project: boolean;
  created_at: string;
  updated_at: string;
  /** Who has access, in the order they were given it, and whether as a client. */
  accesses: Map<number, { is_client: boolean }>;
}

export interface BcxData extends SeededAccount<BcxPerson, BcxProject> {
  /** People deleted from the account (`trashed: true`), as GET /people/trashed.json lists them. */
  trashedPeople: Map<number, BcxPerson>;
}

export const BCX_OWNER = 3_000_001;
export const BCX_ADMIN = 3_000_002;
export const BCX_PLAIN = 3_000_003;
export const BCX_CLIENT = 3_000_004;
export const BCX_DELETED = 3_000_005;
export const BCX_BIG_PROJECT = 4_000_001;
/** How many people All Hands has (when the account has that many): more than one page of accesses. */
export const BCX_BIG_PROJECT_SIZE = 60;

// The usual names, without Jan Jensen (a fixed point of this account).
const FIRST = FIRST_NAMES.filter((n) => n !== 'Jan');
const LAST = LAST_NAMES.filter((n) => n !== 'Jensen');

const EPOCH = Date.UTC(2014, 2, 3, 9, 0, 0);
const iso = (offsetDays: number) => new Date(EPOCH + offsetDays * 86_400_000).toISOString();

/** A Basecamp 2 person with the next id; `identity_id` is their Launchpad identity. */
export function makeBcxPerson(id: number, fields: Pick<BcxPerson, 'name' | 'email_address'> & Partial<BcxPerson>, created = iso(0)): BcxPerson {
  return {
    id,
    identity_id: 9_500_000 + (id - 3_000_000),
    admin: false,
    trashed: false,
    avatar_url: `https://asset0.37img.com/global/default_avatar_v1_4/avatar.gif?r=3&id=${id}`,
    created_at: created,
    updated_at: created,
    ...fields,
  };
}

/**
 * `people` counts everyone ever on the account, the deleted person included (at least 8; default 120).
 * `accountId` defaults to 4440001 (the Basecamp 3/4/5 account keeps 5550001).
 */
export function seedBcxAccount(options: SeedOptions = {}): BcxData {
  const total = Math.max(8, options.people ?? 120);
  const random = rng((options.seed ?? 42) ^ 0xbc2);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const people = new Map<number, BcxPerson>();
  const trashedPeople = new Map<number, BcxPerson>();
  let nextId = BCX_OWNER;
  const add = (fields: Parameters<typeof makeBcxPerson>[1]) => {
    const p = makeBcxPerson(nextId++, fields, iso(Math.floor(random() * 900)));
    (p.trashed ? trashedPeople : people).set(p.id, p);
    return p;
  };

  // The owner is the same Launchpad identity as the Basecamp 3/4/5 owner (Olivia, 1000001 there).
  const owner = add({ name: 'Olivia Owner', email_address: 'olivia@acme.example', admin: true, identity_id: 9_000_000 + 1_000_001 });
  const adam = add({ name: 'Adam Admin', email_address: 'adam@acme.example', admin: true });
  const jan = add({ name: 'Jan Jensen', email_address: 'jan@acme.example' });
  const carla = add({ name: 'Carla Client', email_address: 'carla@client.example' });
  add({ name: 'Former Colleague', email_address: 'former@acme.example', trashed: true });

  const clients = new Set<number>([carla.id]);
  const used = new Set<string>([...people.values(), ...trashedPeople.values()].map((p) => p.email_address));
  while (people.size + trashedPeople.size < total) {
    const first = pick(FIRST);
    const last = pick(LAST);
    const asClient = random() < 0.1;
    const domain = asClient ? 'client.example' : 'acme.example';
    let local = `${first}.${last}`.toLowerCase();
    for (let n = 2; used.has(`${local}@${domain}`); n++) local = `${first}.${last}${n}`.toLowerCase();
    used.add(`${local}@${domain}`);
    const p = add({ name: `${first} ${last}`, email_address: `${local}@${domain}`, admin: !asClient && random() < 0.04 });
    if (asClient) clients.add(p.id);
  }

  const projects = new Map<number, BcxProject>();
  let nextProjectId = BCX_BIG_PROJECT;
  const addProject = (name: string, state: { archived?: boolean; trashed?: boolean; is_client_project?: boolean } = {}) => {
    const p: BcxProject = {
      id: nextProjectId++,
      name,
      description: `${name} project`,
      archived: state.archived ?? false,
      trashed: state.trashed ?? false,
      is_client_project: state.is_client_project ?? false,
      created_at: iso(Math.floor(random() * 400)),
      updated_at: iso(400 + Math.floor(random() * 400)),
      accesses: new Map([[owner.id, { is_client: false }]]),
    };
    projects.set(p.id, p);
    return p;
  };
  const grant = (project: BcxProject, id: number, is_client = false) => project.accesses.set(id, { is_client });

  const allHands = addProject('All Hands');
  const launch = addProject('Launch', { is_client_project: true });
  const website = addProject('Website Redesign');
  const hiring = addProject('Hiring');
  const oldWebsite = addProject('Old Website', { archived: true });
  const q1 = addProject('Q1 Planning', { archived: true });
  const abandoned = addProject('Abandoned Idea', { trashed: true });

  const team = [...people.values()].filter((p) => !clients.has(p.id));
  for (const p of team.slice(0, BCX_BIG_PROJECT_SIZE)) grant(allHands, p.id);
  for (const id of [adam.id, jan.id]) grant(launch, id);
  for (const id of clients) grant(launch, id, true);
  grant(website, jan.id);
  grant(hiring, adam.id);
  for (const project of [oldWebsite, q1, abandoned]) grant(project, jan.id);
  grant(q1, adam.id);
  const others = team.filter((p) => ![owner.id, adam.id, jan.id].includes(p.id));
  for (const project of [launch, website, hiring, oldWebsite]) {
    for (const p of others) if (random() < 0.2) grant(project, p.id);
  }

  return {
    accountId: options.accountId ?? 4_440_001,
    accountName: 'Acme Classic (sandbox, Basecamp 2)',
    ownerId: owner.id,
    people,
    trashedPeople,
    projects,
    nextPersonId: nextId,
  };
}
