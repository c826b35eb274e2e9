import { expect } from 'vitest';
import type { ToolResult } from './helpers.js';

/** Reading the CSV attachments tools give (access_report, export_people) as a spreadsheet would. */

/** RFC 4180: fields separated by commas, records by CRLF, quoted fields with doubled quotes (and CRLF or commas inside). */
export function parseCsv(csv: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < csv.length) {
    const c = csv[i]!;
    if (quoted) {
      if (c === '"' && csv[i + 1] === '"') {
        field += '"';
        i += 2;
      } else if (c === '"') {
        quoted = false;
        i++;
      } else {
        field += c;
        i++;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
      i++;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && csv[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      expect(c, `unquoted ${JSON.stringify(c)} at ${i}`).not.toMatch(/[\r\n"]/);
      field += c;
      i++;
    }
  }
  expect(quoted).toBe(false);
  expect(field === '' && row.length === 0, 'the last record ends with CRLF').toBe(true);
  return rows;
}

/** What a cell must hold for a value: formulas neutralised with a leading '. */
export const cell = (value: string) => (/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);

/** The one attachment (embedded resource) of a result. */
export function attachmentOf(r: ToolResult): { uri: string; mimeType: string; text: string } {
  const resources = (r.content as unknown as { type: string; resource?: { uri: string; mimeType: string; text: string } }[]).filter((c) => c.type === 'resource');
  expect(resources).toHaveLength(1);
  return resources[0]!.resource!;
}
