import { realpathSync } from 'node:fs';
import { basename, delimiter, join, sep } from 'node:path';

/**
 * How a person runs this program from a shell, for messages that say "run … login". The bin name only when it
 * is on the PATH and is this very script (npm link, a global install); otherwise `node /absolute/dist/cli.js`,
 * which works wherever the running copy lives (a clone, an unpacked bundle, npx's cache). The folders npm
 * puts on the PATH for one run (node_modules/.bin under npx or npm run) do not count: a shell does not have them.
 */
export const BIN_NAME = 'basecamp-people-mcp';

let found: string | undefined;

/** `shellCommand('login')` → `basecamp-people-mcp login` or `node /path/to/dist/cli.js login`. */
export function shellCommand(args: string): string {
  found ??= programCommand(process.argv[1], process.env.PATH ?? '');
  return args ? `${found} ${args}` : found;
}

/** The command for `script` (the main module): exported for tests. */
export function programCommand(script: string | undefined, path: string): string {
  const real = script ? realPath(script) : undefined;
  // Not the built CLI (a test runner, the demo): the bin name is all there is to say.
  if (!real || basename(real) !== 'cli.js') return BIN_NAME;
  const onPath = path
    .split(delimiter)
    .filter((dir) => dir && !`${dir}${sep}`.includes(`${sep}node_modules${sep}.bin${sep}`))
    .some((dir) => realPath(join(dir, BIN_NAME)) === real);
  return onPath ? BIN_NAME : `node ${shellQuote(real)}`;
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** A path as one shell word: bare when it is plain, else quoted (double quotes on Windows). */
function shellQuote(path: string): string {
  if (/^[\w@%+=:,./\\-]+$/.test(path)) return path;
  return process.platform === 'win32' ? `"${path}"` : `'${path.replaceAll("'", `'\\''`)}'`;
}
