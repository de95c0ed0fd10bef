import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.ts';

describe('redactSecrets', () => {
  it('masks URL passwords, bearer tokens, key=value secrets and JWTs', () => {
    const text = redactSecrets(
      'connect postgres://app:s3cret@db:5432/x failed; Authorization: Bearer abc.def-123; password=hunter2 api_key: "k-1" eyJhbGciOi.eyJzdWIiOi.sig_part',
    );
    for (const secret of ['s3cret', 'abc.def-123', 'hunter2', 'k-1', 'eyJhbGciOi']) expect(text).not.toContain(secret);
    expect(text).toContain('postgres://app:***@db:5432/x');
  });

  it('leaves ordinary messages alone', () => {
    expect(redactSecrets('relation "users" does not exist')).toBe('relation "users" does not exist');
  });
});
