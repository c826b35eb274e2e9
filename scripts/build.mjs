// npm run build: bundles the server into dist/ with esbuild (one entry file per command line program, and a
// chunk for each part loaded only when a command needs it: the HTTP transport, the Redis-shared budget, the
// sandbox, the login flow). One bundle starts faster and uses less memory than resolving ~700 files from
// node_modules, and it lets the .mcpb ship without node_modules. Type checking is `npm run typecheck` (tsc).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
rmSync(resolve(root, 'dist'), { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  // Whitespace only: stack traces of a real bug keep readable names. Not syntax: its rewrites drop the names of class
  // expressions, and oidc-provider names each model's storage by its class (bundled so, its second interaction fails:
  // SessionNotFound); keepNames would restore them at a cost on every function made per request (about 7% of the
  // stateless HTTP throughput, measured with `node bench/run.mjs throughput`).
  minifyWhitespace: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // ioredis and undici are CommonJS: give their require() of Node's built-ins a real require.
  banner: { js: "import { createRequire as __bpmCreateRequire } from 'node:module'; const require = __bpmCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};
// The server: dist/cli.js and the chunks it imports on demand (all that the .mcpb ships).
await build({ ...common, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]' });
// Self-contained extras: the demo, and the simulated account as a library (for the benchmark's sandbox host).
await build({ ...common, entryPoints: { demo: 'src/demo.ts', sandbox: 'src/sandbox/server.ts' }, outdir: 'dist' });
