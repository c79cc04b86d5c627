import { describe, expect, it } from 'vitest';
import {
  bindingsDigest,
  chunkBindings,
  INLINE_BINDING_BYTES,
  planBindings,
  servingCheck,
} from '../../agent/bindings/summary.js';
import { bindingsReports, resultReport } from '../../agent/reports.js';
import {
  encodeMessage,
  MAX_REPORTED_BINDINGS,
  MESSAGE_VERSION,
  ReportSchema,
  type CcsBinding,
  type ServingResult,
} from '../../shared/messages.js';

/** A queue message holds 64 KiB: what every report must fit in once encoded. */
const QUEUE_MESSAGE_LIMIT = 64 * 1024;

const ctx = { ccsId: 'farm-a', hostName: 'web-01', now: () => new Date('2026-06-01T10:00:00Z') };

function bindings(count: number, longNames = false): CcsBinding[] {
  return Array.from({ length: count }, (_, i) => ({
    site: longNames ? `Site ${'x'.repeat(240)} ${i}` : `Site ${i % 50}`,
    hostName: longNames
      ? `${'h'.repeat(60)}.${'i'.repeat(60)}.${'j'.repeat(60)}.n${i}.contoso.com`
      : `s${i}.contoso.com`,
    port: 443,
    ip: i % 2 ? '*' : '2001:db8:0:0:0:0:0:5',
    sni: true,
  }));
}

const result = (status: ServingResult['status'], i: number): ServingResult => ({
  site: `Site ${i}`,
  hostName: `s${i}.contoso.com`,
  port: 443,
  ip: '*',
  status,
  detail: 'x'.repeat(200),
  file: `s${i}.contoso.com.pfx`,
  expected: 'A'.repeat(40),
  served: status === 'failed' ? null : 'B'.repeat(40),
});

describe('bindingsDigest', () => {
  it('is equal for equal lists and differs when anything changes', () => {
    const list = bindings(3);
    expect(bindingsDigest(list)).toBe(bindingsDigest(bindings(3)));
    expect(bindingsDigest(list)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const changed = bindings(3);
    changed[1] = { ...changed[1]!, sni: false };
    expect(bindingsDigest(changed)).not.toBe(bindingsDigest(list));
  });
});

describe('planBindings', () => {
  it('carries a short list inline', () => {
    const plan = planBindings({ bindings: bindings(10) });
    expect(plan.chunks).toEqual([]);
    expect(plan.summary.items).toHaveLength(10);
    expect(plan.summary.total).toBe(10);
    expect(plan.summary.error).toBeNull();
  });

  it('an empty list is inline and has a digest (an IIS without CCS bindings)', () => {
    const plan = planBindings({ bindings: [] });
    expect(plan.summary).toEqual({ digest: bindingsDigest([]), total: 0, items: [], error: null });
  });

  it('sends a long list by digest, in chunks that each fit a queue message', () => {
    const list = bindings(5000, true);
    const plan = planBindings({ bindings: list });
    expect(plan.summary.items).toBeUndefined();
    expect(plan.chunks.flat()).toEqual(list);
    const reports = bindingsReports(ctx, { ...plan, appliedGeneration: 4 });
    expect(reports.length).toBe(plan.chunks.length);
    reports.forEach((report, index) => {
      expect(report.chunk).toEqual({ index, count: reports.length });
      expect(report.digest).toBe(plan.summary.digest);
      expect(report.total).toBe(5000);
      expect(ReportSchema.parse(report)).toEqual(report);
      expect(encodeMessage(report).length).toBeLessThanOrEqual(QUEUE_MESSAGE_LIMIT);
    });
  });

  it('lists at most MAX_REPORTED_BINDINGS and counts all of them', () => {
    const plan = planBindings({ bindings: bindings(MAX_REPORTED_BINDINGS + 7) });
    expect(plan.summary.total).toBe(MAX_REPORTED_BINDINGS + 7);
    expect(plan.chunks.flat()).toHaveLength(MAX_REPORTED_BINDINGS);
  });

  it('a read error has no digest and no list', () => {
    const error = { name: 'host', code: 'BindingsUnreadable', detail: 'x', status: 500 };
    expect(planBindings({ error })).toEqual({ summary: { digest: null, total: 0, error }, chunks: [] });
  });

  it('inline lists stay within their byte budget', () => {
    const plan = planBindings({ bindings: bindings(120) });
    if (plan.summary.items)
      expect(JSON.stringify(plan.summary.items).length).toBeLessThanOrEqual(INLINE_BINDING_BYTES);
    else expect(plan.chunks.length).toBeGreaterThan(0);
  });
});

describe('chunkBindings', () => {
  it('always yields at least one chunk', () => {
    expect(chunkBindings([])).toEqual([[]]);
  });

  it('splits at the budget', () => {
    const chunks = chunkBindings(bindings(100), 1000);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(JSON.stringify(chunk).length).toBeLessThanOrEqual(1000);
  });
});

describe('servingCheck', () => {
  it('counts every result and lists the worst first', () => {
    const results = [
      result('ok', 1),
      result('failed', 2),
      result('skipped', 3),
      result('mismatch', 4),
      result('ok', 5),
    ];
    const check = servingCheck(results, ctx.now());
    expect(check.counts).toEqual({ ok: 2, mismatch: 1, failed: 1, skipped: 1 });
    expect(check.results.map((r) => r.status)).toEqual(['failed', 'mismatch', 'skipped', 'ok', 'ok']);
    expect(check.omitted).toBe(0);
    expect(check.at).toBe('2026-06-01T10:00:00.000Z');
  });

  it('a result report with thousands of serving results and inline bindings fits one queue message', () => {
    const results = Array.from({ length: 3000 }, (_, i) => result(i % 7 === 0 ? 'failed' : 'ok', i));
    const check = servingCheck(results, ctx.now());
    expect(check.counts.failed + check.counts.ok).toBe(3000);
    expect(check.omitted).toBe(3000 - check.results.length);
    expect(check.results.slice(0, 10).every((r) => r.status === 'failed')).toBe(true);
    const plan = planBindings({ bindings: bindings(100) });
    const report = resultReport(
      ctx,
      {
        v: MESSAGE_VERSION,
        type: 'apply',
        ccsId: 'farm-a',
        host: 'web-01',
        operationId: 'op-1',
        generation: 2,
        desired: { enabled: false, path: null, username: null, password: null, privateKeyPassword: null },
        issuedAt: ctx.now().toISOString(),
      },
      {
        outcome: 'succeeded',
        error: null,
        actual: { enabled: true, path: '\\\\files\\ccs', username: 'CONTOSO\\svc' },
        appliedGeneration: 2,
        bindings: plan.summary,
        serving: check,
      },
    );
    expect(encodeMessage(report).length).toBeLessThanOrEqual(QUEUE_MESSAGE_LIMIT);
  });
});
