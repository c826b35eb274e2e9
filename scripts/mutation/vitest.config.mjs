// The unit tests that guard the pure modules the mutation run mutates (the fuzz tests are left out: slow).
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/pure-rules.test.ts',
      'test/link-header.test.ts',
      'test/paging-link-loops.test.ts',
      'test/log.test.ts',
      'test/security.test.ts',
      'test/settings.test.ts',
      'test/http-front-door.test.ts',
      'test/email.test.ts',
    ],
    testNamePattern: /^(?!.*(2,500 malformed|process level)).*$/,
    testTimeout: 60_000,
    fileParallelism: false,
    env: { BASECAMP_LOG_LEVEL: 'silent' },
  },
});
