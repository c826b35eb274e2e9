import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Builds dist/ before any test runs, however vitest was started (`npm test`, `npx vitest run test/cli.test.ts`):
 * the tests that spawn the CLI or unpack the bundle must never run a stale dist/.
 */
export default function buildFirst(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: resolve(import.meta.dirname, '..'), stdio: 'inherit' });
}
