/**
 * CSV as the tools attach it (access_report, export_people): RFC 4180, CRLF line ends, every cell neutralised for
 * spreadsheets.
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
