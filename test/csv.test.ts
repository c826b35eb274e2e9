import { describe, expect, it } from 'vitest';
import { csvField, CsvSyntaxError, parseCsv } from '../src/tools/lib/csv.js';

/** The CSV reader reconcile_people takes a roster with (RFC 4180, as spreadsheets write it), and the cells tools attach. */
describe('parseCsv', () => {
  it.each([
    ['commas, LF', 'a,b\n1,2\n', ',', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['semicolons, CRLF, a BOM', '\uFEFFa;b\r\n1;2', ';', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['CR alone ends a record', 'a,b\r1,2\r', ',', [[1, ['a', 'b']], [2, ['1', '2']]]],
    ['the header\'s separator wins over one inside quotes', '"x,y";b;c\n1;2;3', ';', [[1, ['x,y', 'b', 'c']], [2, ['1', '2', '3']]]],
    ['more commas than semicolons', 'a,b;c\n1,2;3', ',', [[1, ['a', 'b;c']], [2, ['1', '2;3']]]],
    ['quoted: separators, doubled quotes, line breaks; the line count goes on', 'a,b\n"x, ""y""","1\r\n2"\n3,4', ',', [[1, ['a', 'b']], [2, ['x, "y"', '1\r\n2']], [4, ['3', '4']]]],
    ['empty fields and an empty quoted field', 'a,b,c\n,"",\n', ',', [[1, ['a', 'b', 'c']], [2, ['', '', '']]]],
    ['spaces around a quoted field are dropped', 'a,b\n  "x" , y', ',', [[1, ['a', 'b']], [2, ['x', ' y']]]],
    ['blank lines are skipped, their lines counted', 'a\n\n\nb\n', ',', [[1, ['a']], [4, ['b']]]],
  ])('%s', (_name, text, separator, records) => {
    const parsed = parseCsv(text);
    expect(parsed.separator).toBe(separator);
    expect(parsed.records.map((r) => [r.line, r.fields])).toEqual(records);
  });

  it.each([
    ['a quote never closed, named where it opened', 'a\nb\n"c\nd', 3, /never closed/],
    ['text after a closing quote', 'a,b\n"x"y,z', 2, /text after the closing quote/],
    ['a quote inside an unquoted field', 'a\nb"c', 2, /quote inside an unquoted field/],
  ])('%s', (_name, text, line, problem) => {
    let error: unknown;
    try {
      parseCsv(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CsvSyntaxError);
    expect((error as CsvSyntaxError).line).toBe(line);
    expect((error as CsvSyntaxError).problem).toMatch(problem);
  });
});

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['=1+1', "'=1+1"],
    ['@cmd', "'@cmd"],
    ['-2,3', `"'-2,3"`],
  ])('%s → %s', (value, cell) => expect(csvField(value)).toBe(cell));
});
