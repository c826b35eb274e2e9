import { STDIO_CALLER } from '../src/caller.js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../src/config.js';
import { createMcpServer } from '../src/server.js';
import { startSandbox } from '../src/sandbox/server.js';
import { tools } from '../src/tools/index.js';
import { connectClient, sandboxService } from './helpers.js';

const annotationKeys = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

describe('tool definitions', () => {
  it('lists the public tools', () => {
    expect(tools.map((t) => t.name)).toEqual([
      'list_people',
      'get_person',
      'invite_person',
      'invite_people',
      'update_project_access',
      'trash_person',
      'get_account',
      'list_projects',
      'list_changes',
      'access_report',
      'export_people',
      'reconcile_people',
      'people_changes',
    ]);
  });

  it.each(tools.map((t) => [t.name, t] as const))('%s sets all four annotations, a title, a description and an output schema', (_n, tool) => {
    for (const key of annotationKeys) expect(typeof tool.annotations[key]).toBe('boolean');
    expect(tool.title.length).toBeGreaterThan(3);
    expect(tool.description.length).toBeGreaterThan(60);
    expect(Object.keys(tool.outputSchema).length).toBeGreaterThan(0);
    // Read-only tools cannot be destructive; write tools must say whether they destroy.
    if (tool.annotations.readOnlyHint) expect(tool.annotations.destructiveHint).toBe(false);
  });

  it('what clients see: every tool has annotations and an outputSchema, and the schemas match the snapshot', async () => {
    const sb = await startSandbox();
    const service = sandboxService(sb);
    const client = await connectClient(service);
    const listed = (await client.listTools()).tools;
    for (const t of listed) {
      for (const key of annotationKeys) expect(typeof t.annotations?.[key], `${t.name}.${key}`).toBe('boolean');
      expect(t.outputSchema, t.name).toBeTruthy();
      await expect(
        JSON.stringify({ name: t.name, title: t.title, annotations: t.annotations, inputSchema: t.inputSchema, outputSchema: t.outputSchema }, null, 2),
      ).toMatchFileSnapshot(`./__toolsnaps__/${t.name}.snap`);
    }
    await client.close();
    await service.close();
    await sb.close();
  });

  it('every published input and output schema is portable: no `type` arrays (anyOf instead), no schema that constrains nothing', async () => {
    const sb = await startSandbox();
    const service = sandboxService(sb);
    const client = await connectClient(service);
    const problems: string[] = [];
    // Walks schema positions only: the names under `properties` are data, their values are schemas.
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      if (Array.isArray(schema.type)) problems.push(`${path}: type ${JSON.stringify(schema.type)}`);
      for (const [key, value] of Object.entries(schema)) {
        if (key === 'properties') {
          for (const [name, sub] of Object.entries(value as Record<string, unknown>)) {
            if (sub && typeof sub === 'object' && Object.keys(sub).length === 0) problems.push(`${path}.properties.${name}: {}`);
            walk(sub, `${path}.properties.${name}`);
          }
        } else if (value && typeof value === 'object') {
          if (!Array.isArray(value) && Object.keys(value).length === 0 && key !== 'default') problems.push(`${path}.${key}: {}`);
          walk(value, `${path}.${key}`);
        }
      }
    };
    for (const t of (await client.listTools()).tools) {
      walk(t.inputSchema, `${t.name}.inputSchema`);
      walk(t.outputSchema, `${t.name}.outputSchema`);
    }
    expect(problems).toEqual([]);
    await client.close();
    await service.close();
    await sb.close();
  });

  it('a server built per request (2026 era over HTTP, --stateless) reuses each tool\'s JSON Schema, written once per process and frozen', async () => {
    const sb = await startSandbox();
    const service = sandboxService(sb);
    try {
      const [first, second] = [createMcpServer(service, { era: 'modern', caller: STDIO_CALLER }), createMcpServer(service, { era: 'modern', caller: STDIO_CALLER })];
      for (const tool of tools) {
        // What the SDK converts on each instance for a tools/call (the Mcp-Param-* check); the output schema goes the same way.
        const a = first.toolInputSchemaJson(tool.name)!;
        const b = second.toolInputSchemaJson(tool.name)!;
        expect(b.properties, tool.name).toBe(a.properties);
        expect(Object.isFrozen(a.properties), tool.name).toBe(true);
        // Shared, so no instance can change what another lists.
        expect(() => ((a.properties as Record<string, unknown>).injected = {}), tool.name).toThrow(TypeError);
      }
    } finally {
      await service.close();
      await sb.close();
    }
  });

  it('manifest.json lists exactly the registry\'s tools, and versions agree', () => {
    const manifest = JSON.parse(readFileSync(new URL('../manifest.json', import.meta.url), 'utf8')) as { version: string; tools: { name: string }[] };
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(manifest.tools.map((t) => t.name)).toEqual(tools.map((t) => t.name));
    expect(manifest.version).toBe(pkg.version);
    expect(VERSION).toBe(pkg.version);
  });
});
