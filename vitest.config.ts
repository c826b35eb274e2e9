import { defineConfig } from 'vitest/config';
import SummaryReporter from './test/summary-reporter.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', new SummaryReporter()],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Timing-sensitive budget tests must not compete with each other for the two cores.
    fileParallelism: false,
    env: { BASECAMP_LOG_LEVEL: 'warn' },
  },
});
