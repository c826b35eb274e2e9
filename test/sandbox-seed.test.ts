import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seedBcxAccount } from '../src/sandbox/bcx/seed.js';
import { seedAccount } from '../src/sandbox/bc3/seed.js';

/**
 * The seeded accounts are fixed points many tests (and the demo and the bench) stand on: their whole content,
 * for several seeds and sizes, is pinned here by a fingerprint, so reshaping the seed code cannot move a person,
 * a project or a membership unnoticed. A deliberate change to the seed updates these fingerprints.
 */
const fingerprint = (data: object) =>
  createHash('sha256')
    .update(JSON.stringify(data, (_key, value: unknown) => (value instanceof Map ? [...value] : value instanceof Set ? [...value] : value)))
    .digest('hex')
    .slice(0, 16);

const CASES: { people?: number; seed?: number; accountId?: number }[] = [
  {},
  { people: 8 },
  { people: 9 },
  { people: 10 },
  { people: 11, seed: 7 },
  { people: 50, seed: 1 },
  { people: 200 },
  { people: 1000, seed: 3 },
  { people: 30, seed: 42, accountId: 123 },
];

describe('sandbox seed fingerprints', () => {
  it('the Basecamp 3/4/5 account is what it was, for every seed and size', () => {
    expect(CASES.map((options) => fingerprint(seedAccount(options)))).toEqual(BC3);
  });

  it('the Basecamp 2 account is what it was, for every seed and size', () => {
    expect(CASES.map((options) => fingerprint(seedBcxAccount(options)))).toEqual(BCX);
  });
});

const BC3 = [
  'bb67f465167dda03',
  '4b99bbcdfc9b3b26',
  '5c611bf67fdf5da7',
  'fb094ddb6d993e9e',
  '6125ba496ff2ff63',
  'fb04973d60e26aeb',
  '21cdea06dd721155',
  'f4f04dfe46d304e0',
  '3da41ce7c87557a2',
];
const BCX = [
  '1bc0cd7b0a2e816d',
  '3092d223cd372071',
  '7196a3a1c027ceeb',
  'd68930aff3e91960',
  '590a89451351bbd2',
  '8d608b03bef6254a',
  'ba921c1cb9c5472c',
  '893c30e3f7a9ac7f',
  '1b7a3fdc96adde91',
];
