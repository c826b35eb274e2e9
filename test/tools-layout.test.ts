import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const tools = join(import.meta.dirname, '..', 'src', 'tools');

describe('src/tools layout (docs/architecture.md)', () => {
  it('no tool module imports another: what tools share lives in src/tools/lib/', () => {
    const modules = readdirSync(tools).filter((f) => f.endsWith('.ts') && f !== 'index.ts');
    const crossing = modules.flatMap((f) =>
      [...readFileSync(join(tools, f), 'utf8').matchAll(/from '\.\/([^']+)'/g)].filter((m) => !m[1]!.startsWith('lib/')).map((m) => `${f} imports ./${m[1]}`),
    );
    expect(crossing).toEqual([]);
  });

  it('nothing in src/tools/lib/ imports a tool module', () => {
    const lib = readdirSync(join(tools, 'lib')).filter((f) => f.endsWith('.ts'));
    const crossing = lib.flatMap((f) => [...readFileSync(join(tools, 'lib', f), 'utf8').matchAll(/from '\.\.\/([^'./][^']*)'/g)].map((m) => `lib/${f} imports ../${m[1]}`));
    expect(crossing).toEqual([]);
  });
});
