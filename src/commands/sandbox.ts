import type { Settings } from '../settings.js';

/** `sandbox`: the simulated Basecamp API alone, until Ctrl-C. Not an MCP server: stdout is for the person running it. */
export async function sandboxCommand({ flags }: Settings): Promise<void> {
  const { product } = flags;
  // Imported here, as serve --sandbox does: the simulated account is one chunk of the bundle, whoever loads it.
  const { startSandbox } = await import('../sandbox/server.js');
  const sandbox = await startSandbox({ port: flags.port, people: flags.people, product, alsoList: true });
  const bcx = product === 'bcx' ? sandbox.bcx! : undefined;
  const other = bcx ? `Basecamp 3/4/5 account ${sandbox.data.accountId}` : `Basecamp 2 account ${sandbox.bcx!.accountId}`;
  process.stdout.write(
    [
      `Sandbox ${bcx ? 'Basecamp 2' : 'Basecamp 3/4/5'} account "${bcx ? bcx.accountName : sandbox.data.accountName}" (${bcx ? `${bcx.people.size} people, ${bcx.trashedPeople.size} removed` : `${sandbox.data.people.size} people`}) listening; its Launchpad also lists ${other}.`,
      `BASECAMP_API_URL=${sandbox.url}`,
      `BASECAMP_LAUNCHPAD_URL=${sandbox.url}`,
      `BASECAMP_ACCOUNT_ID=${sandbox.accountId}`,
      `BASECAMP_ACCESS_TOKEN=${sandbox.token}`,
      `Try: curl -H "Authorization: Bearer ${sandbox.token}" -H "User-Agent: curl" ${sandbox.apiBase}/people.json`,
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
