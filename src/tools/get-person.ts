import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../basecamp/errors.js';
import { defineTool } from './define.js';
import { email, fullPerson, personId } from './shared.js';

export const getPerson = defineTool({
  name: 'get_person',
  title: 'Get a person',
  description:
    'Get one person\'s full Basecamp record (roles, permissions, company, time zone, out-of-office). Give exactly one of ' +
    'person_id, email, or me: true (the signed-in person).',
  inputSchema: {
    person_id: personId.optional(),
    email: email.optional().describe('Look the person up by email address.'),
    me: z.literal(true).optional().describe('true: the person this server is signed in as.'),
  },
  outputSchema: { person: fullPerson },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    const given = [args.person_id !== undefined, args.email !== undefined, args.me === true].filter(Boolean).length;
    if (given !== 1) throw new InvalidInputError('Give exactly one of person_id, email, or me: true.');
  },
  async handler(args, { service, signal }) {
    let person;
    if (args.me) {
      person = await service.api.myProfile(signal);
    } else {
      let id = args.person_id;
      if (args.email !== undefined) {
        const found = await service.directory.findByEmail(args.email, signal);
        if (!found) {
          throw new NotFoundError(
            `No person with email ${args.email} is on this account (or visible to this token). Check the spelling, or use list_people with query.`,
          );
        }
        id = found.id;
      }
      person = await service.api.getPerson(id!, signal);
    }
    const roles = [person.owner && 'owner', person.admin && 'admin', person.client && 'client'].filter(Boolean).join(', ');
    return {
      structured: { person },
      summary: `${person.name}${person.email_address ? ` <${person.email_address}>` : ''} (id ${person.id}${roles ? `; ${roles}` : ''}).`,
    };
  },
});
