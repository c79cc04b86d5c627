import { describe, expect, it } from 'vitest';
import {
  assertCcsId,
  commandQueueName,
  isCcsId,
  isHostName,
  poisonQueueName,
  secretName,
} from '../../shared/names.js';

describe('ccs-ids', () => {
  it.each(['a', 'default', 'web-farm-1', 'a'.repeat(32), '0'])('accepts %s', (id) =>
    expect(isCcsId(id)).toBe(true),
  );
  it.each(['', 'A', '-a', 'a-', 'a--b', 'a_b', 'a'.repeat(33), 'a b', 'ä'])('refuses %j', (id) =>
    expect(isCcsId(id)).toBe(false),
  );
  it('names the id field when refusing', () =>
    expect(() => assertCcsId('Bad')).toThrow(expect.objectContaining({ field: 'id' })));
});

describe('queue and secret names', () => {
  const queueName = /^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/;

  it('gives every host a valid, stable, case-insensitive queue name', () => {
    const name = commandQueueName('a'.repeat(32), 'WEB-01.contoso.com');
    expect(name).toMatch(queueName);
    expect(poisonQueueName(name)).toMatch(queueName);
    expect(commandQueueName('a'.repeat(32), 'web-01.CONTOSO.com')).toBe(name);
    expect(commandQueueName('x', 'web-02')).not.toBe(commandQueueName('x', 'web-01'));
  });

  it('names one Key Vault secret per ccs-id and kind', () => {
    expect(secretName('default', 'identity-password')).toBe('ccs-default-identity-password');
    expect(secretName('default', 'private-key-password')).toMatch(/^[0-9a-zA-Z-]{1,127}$/);
  });

  it('accepts computer names and FQDNs as host names', () => {
    expect(isHostName('WEB-01')).toBe(true);
    expect(isHostName('web-01.contoso.com')).toBe(true);
    expect(isHostName('web..01')).toBe(false);
    expect(isHostName('-web')).toBe(false);
  });
});
