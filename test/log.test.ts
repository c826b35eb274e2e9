import { describe, expect, it } from 'vitest';
import { redact } from '../src/log.js';

const secret = 'S3cr3tValue_abcdefXYZ0123';

describe('redact() hides secrets in any encoding we may log', () => {
  it.each([
    ['Bearer header', `Authorization: Bearer ${secret}`],
    ['lower-case bearer', `authorization: bearer ${secret}`],
    ['JSON access_token', `{"access_token":"${secret}","expires_in":1209600}`],
    ['JSON refresh_token with spaces', `{ "refresh_token" : "${secret}" }`],
    ['JSON client_secret', `{"client_id":"abc","client_secret":"${secret}"}`],
    ['JSON code', `{"code":"${secret}"}`],
    ['form access_token', `access_token=${secret}&token_type=bearer`],
    ['form refresh_token', `type=refresh&refresh_token=${secret}&client_id=abc`],
    ['form client_secret', `client_id=abc&client_secret=${secret}`],
    ['form code', `type=web_server&code=${secret}&redirect_uri=x`],
    ['query string code', `GET /callback?code=${secret}&state=xyz`],
  ])('%s', (_label, text) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain('[redacted]');
  });

  it('leaves the rest of the message readable', () => {
    expect(redact(`refresh failed: {"error":"invalid_grant","refresh_token":"${secret}"} for client_id=abc`)).toBe(
      'refresh failed: {"error":"invalid_grant","refresh_token":"[redacted]"} for client_id=abc',
    );
    expect(redact('no secrets here: 401 Unauthorized')).toBe('no secrets here: 401 Unauthorized');
  });
});
