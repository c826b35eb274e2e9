import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Timing-sensitive budget tests must not compete with each other for the two cores.
    fileParallelism: false,
    env: { BASECAMP_LOG_LEVEL: 'warn' },
  },
});
