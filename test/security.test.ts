import { describe, expect, it } from 'vitest';
import { isLoopbackHost, secretsEqual } from '../src/security.js';

describe('isLoopbackHost', () => {
  it('accepts 127.0.0.0/8, localhost and ::1 only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', '::1', '[::1]']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['127.0.0.1.evil.example', '10.0.0.1', '0.0.0.0', 'basecamp.example', '::']) expect(isLoopbackHost(h), h).toBe(false);
  });
});

describe('secretsEqual', () => {
  it('is true only for the same secret, whatever the lengths', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('', 'abc')).toBe(false);
    expect(secretsEqual('abc'.repeat(100), 'abc')).toBe(false);
  });
});
