import { startSandbox } from '../sandbox/server.js';
import type { Settings } from '../settings.js';

/** `sandbox`: the simulated Basecamp API alone, until Ctrl-C. Not an MCP server: stdout is for the person running it. */
export async function sandboxCommand({ flags }: Settings): Promise<void> {
  const sandbox = await startSandbox({ port: flags.port ?? 0, people: flags.people ?? 120 });
  process.stdout.write(
    [
      `Sandbox Basecamp account "${sandbox.data.accountName}" (${sandbox.data.people.size} people) listening.`,
      `BASECAMP_API_URL=${sandbox.url}`,
      `BASECAMP_LAUNCHPAD_URL=${sandbox.url}`,
      `BASECAMP_ACCOUNT_ID=${sandbox.accountId}`,
      `BASECAMP_ACCESS_TOKEN=${sandbox.token}`,
      `Try: curl -H "Authorization: Bearer ${sandbox.token}" -H "User-Agent: curl" ${sandbox.url}/${sandbox.accountId}/people.json`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.close();
}
