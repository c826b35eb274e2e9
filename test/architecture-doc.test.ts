import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** docs/architecture.md is what a newcomer reads first: it must name everything at the top of src/, and nothing that is gone. */
const root = fileURLToPath(new URL('..', import.meta.url));
const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');

describe('docs/architecture.md stays true', () => {
  it('names every top-level folder and file of src/', () => {
    const missing = readdirSync(join(root, 'src'), { withFileTypes: true })
      .map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`))
      .filter((name) => !doc.includes(name));
    expect(missing).toEqual([]);
  });

  it('names no file or folder of src/ that does not exist', () => {
    const named = [...new Set(doc.match(/\bsrc\/[\w./-]*[\w/]/g) ?? [])];
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });
});
