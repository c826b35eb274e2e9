import { withEtag } from '../shared/http-kit.js';
import { bc3Route } from './context.js';
import type { SandboxData } from './seed.js';

/** GET /account: the account, its limits (can_create_users follows the user limit) and its settings. */
export const accountRoutes = [bc3Route('GET', '/account', (c) => withEtag(c.req, accountJson(c.data)))];

function accountJson(data: SandboxData): Record<string, unknown> {
  return {
    id: data.accountId,
    name: data.accountName,
    owner_name: data.people.get(data.ownerId)?.name,
    active: true,
    created_at: '2024-01-15T09:00:00.000Z',
    updated_at: '2026-01-01T09:00:00.000Z',
    trial: false,
    trial_ends_on: null,
    frozen: false,
    paused: false,
    limits: {
      can_create_projects: true,
      can_pin_projects: true,
      can_create_users: data.userLimit === undefined || [...data.people.values()].filter((p) => p.personable_type === 'User' && !p.client).length < data.userLimit,
      can_upload_files: true,
    },
    subscription: {
      short_name: 'pro_unlimited',
      proper_name: 'Basecamp Pro Unlimited',
      project_limit: null,
      teams: true,
      clients: true,
      templates: true,
      logo: true,
      timesheet: true,
    },
    settings: { company_hq_enabled: [...data.projects.values()].some((p) => p.purpose === 'company_hq'), teams_enabled: true, projects_enabled: true },
  };
}
