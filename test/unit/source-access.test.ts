/**
 * Per-ccs-id agent access to the publishing sources (shared/publishing/source-access.ts): the name
 * rule the API holds sources to when each ccs-id's agents are their own group, and what a poll of
 * Key Vault makes of a certificate outside the rule (a tag added later): a problem, never read,
 * never sent to the publisher, its files kept.
 */
import { describe, expect, it } from 'vitest';
import type { CatalogEntry } from '../../shared/ports.js';
import { resolveSources } from '../../shared/publishing/resolve.js';
import { keptSources, runSources } from '../../shared/publishing/schedule.js';
import { agentsCanRead, sourceNamePrefix } from '../../shared/publishing/source-access.js';

const entry = (name: string, tags: Record<string, string> = {}): CatalogEntry => ({
  name,
  thumbprint: 'AB'.repeat(20),
  tags,
  enabled: true,
});

describe('per-ccs-id access to the sources', () => {
  it('reads a certificate as a source of ccs-id X only when named ccs-X--… (case-sensitive, whole ccs-id)', () => {
    expect(sourceNamePrefix('fleet-a')).toBe('ccs-fleet-a--');
    expect(agentsCanRead('per-ccs-id', 'fleet-a', 'ccs-fleet-a--www')).toBe(true);
    for (const name of [
      'ccs-fleet-a--',
      'ccs-fleet-a-b--www',
      'CCS-fleet-a--www',
      'www',
      'ccs-fleet-a-www',
    ]) {
      expect(agentsCanRead('per-ccs-id', 'fleet-a', name), name).toBe(false);
    }
    expect(agentsCanRead('fleet-wide', 'fleet-a', 'www')).toBe(true);
  });

  it('marks a tag match outside the rule not_readable at a poll, without reading it; the run keeps its files', async () => {
    const listing = [entry('ccs-fleet-a--www', { ccs: 'fleet-a' }), entry('shop', { ccs: 'fleet-a' })];
    const read: string[] = [];
    const resolution = await resolveSources(
      { certificates: [], tagSelector: { name: 'ccs', value: 'fleet-a', overwrite: false } },
      listing,
      [],
      (name) => {
        read.push(name);
        return Promise.resolve({
          name,
          version: 'v1',
          thumbprint: 'AB'.repeat(20),
          contentType: 'application/x-pkcs12',
          enabled: true,
          der: Buffer.alloc(0),
          tags: {},
        });
      },
      async (items, work) => void (await Promise.all(items.map(work))),
      { ccsId: 'fleet-a', mode: 'per-ccs-id' },
    );
    expect(read).toEqual(['ccs-fleet-a--www']);
    expect(resolution.resolved).toMatchObject([
      { name: 'ccs-fleet-a--www', problem: null },
      { name: 'shop', problem: { code: 'not_readable', detail: expect.stringContaining('ccs-fleet-a--') } },
    ]);
    expect(runSources(resolution.resolved).map((s) => s.name)).toEqual(['ccs-fleet-a--www']);
    expect(keptSources(resolution.resolved)).toEqual(['shop']);
  });
});
