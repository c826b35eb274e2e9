import { VERSION } from '../config.js';
import { sandboxCommand } from './sandbox.js';
import { log, setLogLevel } from '../log.js';
import { parseSettings, SettingsError, UsageError, type Env } from '../settings.js';
import { shellCommand } from '../cli-command.js';
import { help } from './help.js';

/**
 * The whole command line: settings are validated first, so a bad flag or variable stops everything before
 * a sandbox, Redis connection or listener exists. Returns the exit code: 0 done, 1 failed, 2 usage.
 */
export async function run(argv: string[], env: Env): Promise<number> {
  let settings;
  try {
    settings = parseSettings(argv, env);
  } catch (error) {
    if (error instanceof UsageError) {
      // One line that says what is wrong; the whole help only when asked for.
      process.stderr.write(`basecamp-people-mcp: ${error.message}\nRun \`${shellCommand('--help')}\` for every command, flag and variable.\n`);
      return 2;
    }
    if (error instanceof SettingsError) {
      process.stderr.write(`basecamp-people-mcp: cannot start; fix these settings (see --help or README.md):\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`);
      return 1;
    }
    throw error;
  }
  if (settings.flags.help) {
    process.stdout.write(help());
    return 0;
  }
  if (settings.flags.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  setLogLevel(settings.env.BASECAMP_LOG_LEVEL);
  for (const warning of settings.warnings) log.warn(warning);
  try {
    switch (settings.command) {
      // Each command is loaded only when it runs, so serving stdio never loads the login flow (and so on).
      case 'serve':
        await (await import('./serve.js')).serve(settings, env);
        return 0;
      case 'sandbox':
        // A few lines that load the simulated account themselves (as serve --sandbox does): not worth a chunk.
        await sandboxCommand(settings);
        return 0;
      case 'login':
        return await (await import('./sign-in.js')).loginCommand(settings, env);
      case 'accounts':
        return await (await import('./sign-in.js')).accountsCommand(settings);
      case 'logout':
        return (await import('./sign-in.js')).logoutCommand(settings);
    }
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  }
}
