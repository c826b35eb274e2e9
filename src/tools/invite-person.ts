import { z } from 'zod';
import { UpstreamError } from '../basecamp/errors.js';
import type { Person } from '../basecamp/types.js';
import { defineTool } from './define.js';
import { hqProject, projectById } from './projects.js';
import { compactPerson, email, projectId, toCompactPerson } from './shared.js';

export const invitePerson = defineTool({
  name: 'invite_person',
  title: 'Invite a person',
  description:
    'Invite someone to Basecamp by name and email, giving them access to a project. Basecamp 4 can only add people ' +
    'through a project: without project_id they are invited through the company HQ. If someone with that email is ' +
    'already on the account, they are given access to the project instead (created: false): no duplicate is made and ' +
    'calling again is safe. New people join as team members (not clients); Basecamp emails them an invitation.',
  inputSchema: {
    name: z.string().trim().min(1).max(200).describe('Full name.'),
    email_address: email.describe('Their email address; Basecamp sends the invitation there.'),
    title: z.string().trim().min(1).max(200).optional().describe('Job title.'),
    company_name: z.string().trim().min(1).max(200).optional().describe('Their company (created in Basecamp if new).'),
    project_id: projectId.optional().describe('Project to add them to (default: the company HQ).'),
  },
  outputSchema: {
    person: compactPerson,
    created: z.boolean().describe('true: a new person was added to the account; false: an existing person got access.'),
    project_id: z.number(),
    project_name: z.string(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, { service, signal }) {
    const project = args.project_id !== undefined ? await projectById(service, args.project_id, signal) : await hqProject(service, signal);
    const existing = await service.directory.findByEmail(args.email_address, signal);
    let person: Person | undefined;
    try {
      if (existing) {
        const result = await service.api.updateProjectPeople(project.id, { grant: [existing.id] }, signal);
        person = result.granted.find((p) => p.id === existing.id);
      } else {
        const result = await service.api.updateProjectPeople(
          project.id,
          {
            create: [
              {
                name: args.name,
                email_address: args.email_address,
                ...(args.title ? { title: args.title } : {}),
                ...(args.company_name ? { company_name: args.company_name } : {}),
              },
            ],
          },
          signal,
        );
        const wanted = args.email_address.toLowerCase();
        person = result.granted.find((p) => p.email_address?.toLowerCase() === wanted);
      }
    } finally {
      service.directory.invalidate();
    }
    if (!person) {
      throw new UpstreamError(
        `Basecamp accepted the request but did not list ${args.email_address} among the people granted access to ` +
          `${project.name}. Check with get_person (email) or list_people (project_id ${project.id}) before trying again.`,
      );
    }
    return {
      structured: { person: toCompactPerson(person), created: !existing, project_id: project.id, project_name: project.name },
      summary: existing
        ? `${person.name} was already on the account; gave them access to ${project.name}.`
        : `Invited ${person.name} <${args.email_address}> to ${project.name}; Basecamp emails the invitation.`,
    };
  },
});
