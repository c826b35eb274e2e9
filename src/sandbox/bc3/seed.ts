/**
 * The sandbox account's data: deterministic for a given seed and size, shaped like Basecamp 3/4/5's JSON
 * (see docs/basecamp-api.md): people of every personable_type, with and without a company, an HQ,
 * teams, projects (some archived, one trashed) and memberships.
 *
 * Fixed points tests rely on (default seed): people 1000001..1000007 are the owner, an admin, Jan, a
 * DummyUser, an Integration, an Outsider and a Tombstone; the last person (id 1_000_000 + `people`) is an
 * Agent, and when the account has at least 10 people the two before it are clientside contacts (personable_type
 * Client with client false, as Basecamp's regenerated docs show them), Casey North and Carla North of Northwind, on
 * Launch only: their masked addresses (what a non-admin sees, ./masking.ts) are the same. Projects: 2000001 HQ, 2000002-3 teams, 2000004-10 active topics, 2000011-12 archived, 2000013
 * trashed. Clients are enabled on topics except Hiring (2000007) and Offsite 2025 (2000010); clients sit on
 * Launch (2000004) and Q3 Planning (2000005) only, and Launch always has at least one when the account has any.
 */

import { FIRST_NAMES, LAST_NAMES, rng, type SeededAccount, type SeedOptions } from '../shared/seed-kit.js';

export interface SandboxPerson {
  id: number;
  attachable_sgid: string;
  name: string;
  email_address: string | null;
  personable_type: 'User' | 'Integration' | 'DummyUser' | 'Outsider' | 'Tombstone' | 'Agent' | 'Client';
  title: string | null;
  bio: string | null;
  location: string | null;
  created_at: string;
  updated_at: string;
  admin: boolean;
  owner: boolean;
  client: boolean;
  employee: boolean;
  time_zone: string;
  avatar_url: string;
  company?: { id: number; name: string };
  can_ping: boolean;
  can_manage_projects: boolean;
  can_manage_people: boolean;
  can_access_timesheet: boolean;
  can_access_hill_charts: boolean;
}

export interface SandboxProject {
  id: number;
  status: 'active' | 'archived' | 'trashed';
  created_at: string;
  updated_at: string;
  name: string;
  description: string;
  purpose: 'company_hq' | 'team' | 'topic';
  clients_enabled: boolean;
  app_url: string;
  members: Set<number>;
}

export interface SandboxData extends SeededAccount<SandboxPerson, SandboxProject> {
  companies: Map<string, { id: number; name: string }>;
  /** Client seats on the account: a client create past this answers 429 without Retry-After. */
  clientSeats: number;
  /** Most team members (Users who are not clients) the account may have; undefined = no limit (507 past it). */
  userLimit: number | undefined;
  /** Addresses an invitation email was sent to (enrollments with notify), oldest first. */
  invitationsSent: string[];
}

/** Topics that keep clients out (clients_enabled false); every other topic has clients enabled. */
const INTERNAL_TOPICS = new Set(['Hiring', 'Offsite 2025']);

/**
 * Clients as Basecamp counts them (seats, client_users.json): Users with `client: true`, and clientside contacts
 * (`personable_type: "Client"`), whatever their `client` says.
 */
export const isClient = (p: SandboxPerson | undefined): p is SandboxPerson =>
  !!p && ((p.client && p.personable_type === 'User') || p.personable_type === 'Client');

const TITLES = ['Designer', 'Engineer', 'Product Manager', 'Support Lead', 'Marketer', 'Writer', 'Data Analyst', null, null];
const ZONES = ['America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'America/New_York', 'Europe/London'];
export const SANDBOX_DOMAIN = 'acme.example';
export const CLIENT_DOMAIN = 'client.example';

const EPOCH = Date.UTC(2024, 0, 15, 9, 0, 0);
const iso = (offsetDays: number) => new Date(EPOCH + offsetDays * 86_400_000).toISOString();

export function makePerson(
  id: number,
  fields: Partial<SandboxPerson> & Pick<SandboxPerson, 'name' | 'email_address'>,
  createdDay = 0,
): SandboxPerson {
  return {
    id,
    attachable_sgid: `BAh7CEkiCGdpZAY6BkVU${id.toString(36)}`,
    personable_type: 'User',
    title: null,
    bio: null,
    location: null,
    created_at: iso(createdDay),
    updated_at: iso(createdDay),
    admin: false,
    owner: false,
    client: false,
    employee: true,
    time_zone: 'America/Chicago',
    avatar_url: `https://bc3-production-assets-cdn.basecamp-static.com/default/avatar?id=${id}`,
    can_ping: true,
    can_manage_projects: true,
    can_manage_people: false,
    can_access_timesheet: false,
    can_access_hill_charts: true,
    ...fields,
  };
}

/** The company of that name (case-insensitive), added with the next id when the account has none yet. */
export function findOrAddCompany(companies: SandboxData['companies'], name: string): { id: number; name: string } {
  let company = companies.get(name.toLowerCase());
  if (!company) {
    company = { id: 800_000 + companies.size + 1, name };
    companies.set(name.toLowerCase(), company);
  }
  return company;
}

/** The random source of one seeding, drawn from in a fixed order: every step below keeps its draws in place. */
interface Draws {
  random: () => number;
  pick: <T>(xs: readonly T[]) => T;
}

/** The people an account is seeded with, in id order, and the id the next one would take. */
interface SeededPeople {
  people: Map<number, SandboxPerson>;
  owner: SandboxPerson;
  nextId: number;
}

export function seedAccount(options: SeedOptions = {}): SandboxData {
  const total = Math.max(8, options.people ?? 120);
  const random = rng(options.seed ?? 42);
  const draws: Draws = { random, pick: (xs) => xs[Math.floor(random() * xs.length)]! };
  const accountId = options.accountId ?? 5550001;
  const companies = new Map<string, { id: number; name: string }>();
  const acme = findOrAddCompany(companies, 'Acme Co');
  const clientCo = findOrAddCompany(companies, 'Northwind Traders');

  const { people, owner, nextId } = seedPeople(draws, total, acme, clientCo);
  const { projects, topics } = seedProjects(draws, accountId, people, owner);
  // The last person seeded becomes an AI agent: appended after everything random, so every other person,
  // id and membership is what it was, and the account still has exactly `people` people.
  const lastId = nextId - 1;
  makeAgent(people, lastId);
  // At least one client on an active project with clients enabled (already so for the default seeds).
  const launch = topics[0]!;
  const firstClient = [...people.values()].find(isClient);
  if (firstClient && ![...launch.members].some((id) => isClient(people.get(id)))) launch.members.add(firstClient.id);
  if (total >= 10) makeClientsideContacts(people, projects, launch, lastId, clientCo);

  return {
    accountId,
    accountName: 'Acme Co (sandbox)',
    ownerId: owner.id,
    people,
    projects,
    companies,
    nextPersonId: nextId,
    clientSeats: [...people.values()].filter(isClient).length + 50,
    userLimit: undefined,
    invitationsSent: [],
  };
}

/** The fixed people (1000001..1000007), then random team members and clients up to `total`. */
function seedPeople({ random, pick }: Draws, total: number, acme: { id: number; name: string }, clientCo: { id: number; name: string }): SeededPeople {
  const people = new Map<number, SandboxPerson>();
  let nextId = 1_000_001;
  const add = (fields: Parameters<typeof makePerson>[1]) => {
    const p = makePerson(nextId++, fields, Math.floor(random() * 600));
    people.set(p.id, p);
    return p;
  };

  const owner = add({
    name: 'Olivia Owner',
    email_address: `olivia@${SANDBOX_DOMAIN}`,
    title: 'Founder',
    admin: true,
    owner: true,
    can_manage_people: true,
    company: acme,
  });
  add({ name: 'Adam Admin', email_address: `adam@${SANDBOX_DOMAIN}`, title: 'Operations', admin: true, can_manage_people: true, company: acme });
  add({ name: 'Jan Jensen', email_address: `jan@${SANDBOX_DOMAIN}`, title: 'Designer', company: acme });
  add({ name: 'Sample Person', email_address: null, personable_type: 'DummyUser', title: 'Sample', employee: false, can_ping: false });
  add({ name: 'Zapier Integration', email_address: null, personable_type: 'Integration', employee: false, can_ping: false });
  add({ name: 'Otis Outsider', email_address: `otis@outside.example`, personable_type: 'Outsider', employee: false, client: false });
  add({ name: 'Former Colleague', email_address: null, personable_type: 'Tombstone', employee: false, can_ping: false });

  const used = new Set<string>([...people.values()].map((p) => p.email_address ?? ''));
  while (people.size < total) {
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const asClient = random() < 0.15;
    const domain = asClient ? CLIENT_DOMAIN : SANDBOX_DOMAIN;
    let local = `${first}.${last}`.toLowerCase();
    for (let n = 2; used.has(`${local}@${domain}`); n++) local = `${first}.${last}${n}`.toLowerCase();
    used.add(`${local}@${domain}`);
    const r = random();
    add({
      name: `${first} ${last}`,
      email_address: `${local}@${domain}`,
      title: pick(TITLES),
      location: random() < 0.3 ? pick(['Chicago', 'Berlin', 'Tokyo', 'Lagos', 'Lima']) : null,
      time_zone: pick(ZONES),
      admin: !asClient && r < 0.05,
      client: asClient,
      employee: !asClient,
      can_manage_people: !asClient && r < 0.05,
      // about a third of team members have no company set
      ...(asClient ? { company: clientCo } : random() < 0.66 ? { company: acme } : {}),
    });
  }
  return { people, owner, nextId };
}

/** The HQ, two teams, seven active topics, two archived and one trashed project, and who is on each. */
function seedProjects(
  { random }: Draws,
  accountId: number,
  people: Map<number, SandboxPerson>,
  owner: SandboxPerson,
): { projects: Map<number, SandboxProject>; topics: SandboxProject[] } {
  const projects = new Map<number, SandboxProject>();
  let nextProjectId = 2_000_001;
  const addProject = (name: string, purpose: SandboxProject['purpose'], status: SandboxProject['status'], description = '') => {
    const id = nextProjectId++;
    const p: SandboxProject = {
      id,
      status,
      created_at: iso(Math.floor(random() * 300)),
      updated_at: iso(300 + Math.floor(random() * 300)),
      name,
      description,
      purpose,
      clients_enabled: purpose === 'topic' && !INTERNAL_TOPICS.has(name),
      app_url: `https://3.basecamp.com/${accountId}/projects/${id}`,
      members: new Set([owner.id]),
    };
    projects.set(id, p);
    return p;
  };
  const users = [...people.values()].filter((p) => p.personable_type === 'User');
  const staff = users.filter((p) => !p.client);
  const clients = users.filter((p) => p.client);

  const hq = addProject('Acme Co HQ', 'company_hq', 'active', 'Company-wide announcements');
  for (const p of staff) hq.members.add(p.id);
  const teams = [addProject('Design Team', 'team', 'active'), addProject('Engineering Team', 'team', 'active')];
  const topics = ['Launch', 'Q3 Planning', 'Website Redesign', 'Hiring', 'Customer Onboarding', 'Support Rotation', 'Offsite 2025'].map((n) =>
    addProject(n, 'topic', 'active', `${n} project`),
  );
  const archived = ['Old Website', 'Q1 Planning'].map((n) => addProject(n, 'topic', 'archived', `${n} (archived)`));
  const trashed = addProject('Abandoned Idea', 'topic', 'trashed');
  for (const project of [...teams, ...topics, ...archived, trashed]) {
    for (const p of staff) if (random() < 0.3) project.members.add(p.id);
  }
  for (const p of clients) topics[Math.floor(random() * 2)]!.members.add(p.id);
  // Jan is the offboarding example: on a team, projects, and an archived project.
  const jan = users.find((p) => p.email_address === `jan@${SANDBOX_DOMAIN}`)!;
  for (const project of [teams[0]!, topics[0]!, topics[1]!, archived[0]!]) project.members.add(jan.id);
  topics[2]!.members.delete(jan.id);
  return { projects, topics };
}

/** The person `id` becomes the AI agent, keeping their dates and time zone (and so every draw after them). */
function makeAgent(people: Map<number, SandboxPerson>, id: number): void {
  const was = people.get(id)!;
  people.set(id, {
    ...makePerson(id, {
      name: 'Acme Assistant',
      email_address: null,
      personable_type: 'Agent',
      title: 'AI agent',
      employee: false,
      can_ping: false,
      can_manage_projects: false,
      time_zone: was.time_zone,
    }),
    created_at: was.created_at,
    updated_at: was.updated_at,
  });
}

/**
 * The two people before the agent (`agentId`) become clientside contacts on Launch only, the same way: every
 * other person is what it was. Their addresses mask alike (c••••••••••@••••••.•••••••): a non-admin cannot
 * tell them apart by address.
 */
function makeClientsideContacts(
  people: Map<number, SandboxPerson>,
  projects: Map<number, SandboxProject>,
  launch: SandboxProject,
  agentId: number,
  clientCo: { id: number; name: string },
): void {
  const contacts = [
    { name: 'Casey North', email_address: `casey.north@${CLIENT_DOMAIN}` },
    { name: 'Carla North', email_address: `carla.north@${CLIENT_DOMAIN}` },
  ];
  contacts.forEach((fields, i) => {
    const id = agentId - 2 + i;
    const was = people.get(id)!;
    for (const project of projects.values()) project.members.delete(id);
    people.set(id, {
      ...makePerson(id, { ...fields, personable_type: 'Client', client: false, employee: false, can_manage_projects: false, company: clientCo, time_zone: was.time_zone }),
      created_at: was.created_at,
      updated_at: was.updated_at,
    });
    launch.members.add(id);
  });
}
