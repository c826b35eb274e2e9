#!/usr/bin/env bash
# Mutation check of the pure modules with StrykerJS (not part of CI: about 15 minutes on 2 cores).
# StrykerJS needs Node >= 22 and is not a dependency of the project: both are installed into a scratch
# folder (MUTATION_HOME, default /tmp/basecamp-people-mcp-mutation) from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/../.."
home=${MUTATION_HOME:-/tmp/basecamp-people-mcp-mutation}
mkdir -p "$home"
if [ ! -x "$home/node_modules/node/bin/node" ]; then
  (cd "$home" && [ -f package.json ] || npm init -y >/dev/null
   cd "$home" && npm install --no-audit --no-fund node@22 typescript@5.9 @stryker-mutator/core@10.1.1 @stryker-mutator/vitest-runner@10.1.1)
fi
cat > "$home/stryker.conf.json" <<JSON
{
  "testRunner": "vitest",
  "vitest": { "configFile": "scripts/mutation/vitest.config.mjs" },
  "plugins": ["$home/node_modules/@stryker-mutator/vitest-runner/dist/src/index.js"],
  "mutate": ["src/basecamp/link-header.ts", "src/transports/http-guards.ts", "src/security.ts", "src/log.ts"],
  "coverageAnalysis": "perTest",
  "concurrency": 2,
  "timeoutMS": 30000,
  "reporters": ["clear-text", "progress", "json"],
  "jsonReporter": { "fileName": "$home/report.json" },
  "tempDirName": "$home/sandbox-tmp",
  "cleanTempDir": true
}
JSON
PATH="$home/node_modules/node/bin:$PATH" "$home/node_modules/node/bin/node" \
  "$home/node_modules/@stryker-mutator/core/bin/stryker.js" run "$home/stryker.conf.json"
