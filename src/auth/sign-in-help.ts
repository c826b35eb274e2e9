import { shellCommand } from '../cli-command.js';

/** What every tool says before anyone signed in; the commands are the ones that work where this copy runs. */
export const signInHelp = (): string =>
  `Not signed in to Basecamp. Run \`${shellCommand('login')}\` (OAuth, keeps you signed in), or set BASECAMP_ACCESS_TOKEN ` +
  '(and BASECAMP_ACCOUNT_ID if the token reaches several accounts). To try the server without a Basecamp account, start it ' +
  `with \`${shellCommand('serve --sandbox')}\`.`;
