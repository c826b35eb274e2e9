/**
 * CSV both ways (RFC 4180): the cells of the files tools attach (access_report, export_people, reconcile_people:
 * CRLF line ends, every cell neutralised for spreadsheets), and the records of a CSV a caller sends.
 */

/**
 * One RFC 4180 field. A cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets a
 * leading ' first; then a field with a comma, quote, CR or LF is quoted, its quotes doubled.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows (the header first) as a CSV text: fields by csvField, joined by commas, each row ended by CRLF. */
export function csvText(rows: readonly (readonly string[])[]): string {
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One record of a parsed CSV: its cells, and the line of the text it starts on (1-based, counting every line break). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A CSV that cannot be read, with the line where reading failed (1-based). */
export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

/**
 * Parses CSV text (RFC 4180, leniently where spreadsheets are): a UTF-8 BOM is dropped; spaces around a quoted field are; the separator is `;` or
 * `,`, whichever the header line holds more of outside quotes (`,` when neither); records end at CRLF, LF or CR;
 * a field in double quotes may hold separators, line breaks and doubled quotes. Blank lines are skipped. Refused,
 * naming the line: a quote that is never closed, text after a closing quote, a quote inside an unquoted field.
 * Field counts are the caller's to check (it knows the header).
 */
export function parseCsv(input: string): { separator: ',' | ';'; records: CsvRecord[] } {
  const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
  const separator = separatorOf(text);
  const records: CsvRecord[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    let field = '';
    let quoted = false; // the field was quoted and is complete: only a separator or the record's end may follow
    let ended = false;
    while (!ended) {
      if (text[i] === '"' && field.trim() === '' && !quoted) {
        // A quoted field (spaces before its quote are dropped): up to the quote that is not doubled.
        const opened = line;
        field = '';
        i++;
        for (;;) {
          if (i >= text.length) throw new CsvSyntaxError(opened, 'a quoted field is never closed (unbalanced ")');
          const c = text[i]!;
          if (c === '"' && text[i + 1] === '"') {
            field += '"';
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
            field += c;
            i++;
          }
        }
        while (text[i] === ' ' || text[i] === '\t') i++;
        const next = text[i];
        if (next !== undefined && next !== separator && next !== '\r' && next !== '\n') {
          throw new CsvSyntaxError(line, `text after the closing quote of a field ("${field.slice(0, 40)}"${next}…): quote the whole field, and double the quotes inside it`);
        }
        quoted = true;
      }
      const c = text[i];
      if (c === undefined || c === '\r' || c === '\n') {
        fields.push(field);
        if (c === '\r' && text[i + 1] === '\n') i++;
        if (c !== undefined) {
          i++;
          line++;
        }
        ended = true;
      } else if (c === separator) {
        fields.push(field);
        field = '';
        quoted = false;
        i++;
      } else if (c === '"') {
        throw new CsvSyntaxError(line, 'a quote inside an unquoted field: put the whole field in quotes and double the quotes inside it');
      } else {
        field += c;
        i++;
      }
    }
    if (!(fields.length === 1 && fields[0]!.trim() === '')) records.push({ line: start, fields });
  }
  return { separator, records };
}

/** `;` when the header line (up to the first line break outside quotes) has more semicolons than commas outside quotes. */
function separatorOf(text: string): ',' | ';' {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && c === ',') commas++;
    else if (!quoted && c === ';') semicolons++;
  }
  return semicolons > commas ? ';' : ',';
}
