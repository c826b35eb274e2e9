/** Shapes of Basecamp 4 JSON, as far as the people tools use them. Only `id` and `name` are guaranteed. */

export interface Person {
  id: number;
  name: string;
  email_address?: string | null;
  personable_type?: string;
  title?: string | null;
  bio?: string | null;
  location?: string | null;
  admin?: boolean;
  owner?: boolean;
  client?: boolean;
  employee?: boolean;
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
  /** Whether clients can be given access (Basecamp 4; absent on older answers). */
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
