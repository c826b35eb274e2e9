/** Shapes of Basecamp JSON (Basecamp 2's mapped onto Basecamp 3/4/5's), as far as the people tools use them. Only `id` and `name` are guaranteed. */

export interface Person {
  id: number;
  name: string;
  email_address?: string | null;
  /** true: Basecamp sent a masked address (shown in full only to admins and owners); email_address is then null. See records.ts. */
  email_hidden?: boolean;
  personable_type?: string;
  title?: string | null;
  bio?: string | null;
  location?: string | null;
  admin?: boolean;
  /** null: this product's API does not say (Basecamp 2 names no owner and no employees; clients only per project). */
  owner?: boolean | null;
  client?: boolean | null;
  employee?: boolean | null;
  time_zone?: string;
  avatar_url?: string;
  company?: { id: number; name: string };
  created_at?: string;
  updated_at?: string;
  can_ping?: boolean;
  can_manage_projects?: boolean;
  can_manage_people?: boolean;
  [key: string]: unknown;
}

export type ProjectStatus = 'active' | 'archived' | 'trashed';

export interface Project {
  id: number;
  name: string;
  description?: string | null;
  purpose?: string;
  status?: ProjectStatus | string;
  created_at?: string;
  updated_at?: string;
  app_url?: string;
  /** Whether clients can be given access (Basecamp 3/4/5; absent on older answers). */
  clients_enabled?: boolean;
  [key: string]: unknown;
}

export interface Account {
  id: number;
  name: string;
  [key: string]: unknown;
}

export interface NewPerson {
  name: string;
  email_address: string;
  title?: string;
  company_name?: string;
}

/** Which membership a project write is about: team members (users.json) or clients (client_users.json). */
export type Membership = 'team' | 'client';

/** An account-level invitation batch (POST /account/enrollments/people.json). */
export interface Enrollment {
  people: NewPerson[];
  project_ids?: number[];
  notify?: boolean;
}

/** One person of an enrollment answer, in the batch's order. */
export interface Enrolled {
  person: Person;
  status: 'created' | 'existing';
}

export interface AccessChange {
  grant?: number[];
  revoke?: number[];
  create?: NewPerson[];
}

export interface AccessResult {
  granted: Person[];
  revoked: Person[];
  /** Basecamp's X-Request-Id of the answer (for the audit trail). */
  requestId?: string;
}

/** The Basecamp products an account can be on: Basecamp 3/4/5 (`bc3` in Launchpad) and Basecamp 2 (`bcx`). */
export type Product = 'bc3' | 'bcx';

/**
 * What one account's API can do, so that tools explain a missing feature instead of branching on a product
 * name. Each flag is a promise about the backend's methods: a method whose flag is false throws
 * NotSupportedError without sending anything.
 */
export interface Capabilities {
  product: Product;
  /** How people call it, for messages: "Basecamp", "Basecamp 2". */
  productName: string;
  /** The account has an HQ project people are invited into when no project is named. */
  hq: boolean;
  /** Account-level invitations (enrollPeople). */
  accountInvitations: boolean;
  /** An invitation carries the new person's name, title and company (else only the email address is sent). */
  namesInvitees: boolean;
  /** A person can be removed from the whole account through the API (removeFromAccount). */
  removeFromAccount: boolean;
  /** The people already removed from the account can be listed (listRemovedPeople). */
  removedPeople: boolean;
  /** Every project one person can access, in one request (personProjects). */
  personProjects: boolean;
  /** Trashed projects can be listed. */
  trashedProjects: boolean;
  /** Clients can be turned on and off on a project (setClientsEnabled). */
  clientSwitch: boolean;
  /** The account's people listing says who is a client (else only a project's people do). */
  clientsInDirectory: boolean;
  /** People records say who owns the account and who is an employee. */
  ownerKnown: boolean;
  /** People records carry their company (the company filters need it). */
  companiesKnown: boolean;
  /** Where an admin manages the account's people by hand. */
  peopleAdminUrl: string;
}
