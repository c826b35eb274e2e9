#!/usr/bin/env node
import { log } from './log.js';
import { run } from './commands/index.js';

// A failure exits at once: a half-started sandbox or Redis client must not keep the process alive.
run(process.argv.slice(2), process.env).then(
  (code) => (code === 0 ? (process.exitCode = 0) : process.exit(code)),
  (error: unknown) => {
    log.error(String(error));
    process.exit(1);
  },
);
