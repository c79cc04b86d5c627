/**
 * Parts of `ccs` that the end-to-end test cannot see from a pipe: the live bars on a terminal
 * (and the plain lines elsewhere), and how each API failure maps to an exit code and advice.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressView } from '../../cli/progress.js';
import { report } from '../../cli/run.js';
import { EXIT } from '../../cli/exit-codes.js';
import { ApiError, UnreachableError } from '../../client/errors.js';
import type { Operation } from '../../client/operations.js';

type HostStep = Operation['hosts'][number]['preflight'];

function operation(
  status: Operation['status'],
  phase: Operation['phase'],
  steps: [HostStep, HostStep][],
): Operation {
  return {
    id: 'op-1',
    status,
    kind: 'enable',
    ccs_id: 'default',
    phase,
    generation: 1,
    changed_fields: ['path'],
    requested_by: 'test',
    force: false,
    serving: null,
    created: '2026-12-02T00:00:00Z',
    updated: '2026-12-02T00:00:00Z',
    error: null,
    hosts: steps.map(([preflight, apply], i) => ({
      name: `web-0${i + 1}`,
      preflight,
      apply,
      error: null,
      serving: null,
    })),
    _links: { self: { href: '/api/operations/op-1' }, resource: { href: '/api/x' } },
  };
}

function sink(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    { isTTY, columns: 100 },
  );
  return { stream, text: () => text };
}

describe('ccs progress', () => {
  const steps = [
    operation('Running', 'preflight', [
      ['pending', 'pending'],
      ['pending', 'pending'],
    ]),
    operation('Running', 'apply', [
      ['succeeded', 'pending'],
      ['succeeded', 'pending'],
    ]),
    operation('Succeeded', 'done', [
      ['succeeded', 'succeeded'],
      ['succeeded', 'succeeded'],
    ]),
  ];

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('draws two bars on a terminal, hosts preflighted and applied of N', () => {
    vi.stubEnv('TERM', 'xterm-256color'); // a CI runner's TERM=dumb gets the plain lines
    const out = sink(true);
    const view = progressView(out.stream, false);
    for (const op of steps) view.update(op);
    view.stop();
    expect(out.text()).toMatch(/preflight \|[^|]*\| 2\/2 hosts/);
    expect(out.text()).toMatch(/apply\s+\|[^|]*\| 2\/2 hosts/);
  });

  it('writes one plain line per change of the counts elsewhere, with no control characters', () => {
    const out = sink(false);
    const view = progressView(out.stream, false);
    for (const op of [...steps, steps[2]!]) view.update(op);
    expect(out.text().split('\n').filter(Boolean)).toEqual([
      'Running preflight: preflighted 0/2, applied 0/2, failed 0',
      'Running apply: preflighted 2/2, applied 0/2, failed 0',
      'Succeeded done: preflighted 2/2, applied 2/2, failed 0',
    ]);
    expect(out.text()).not.toContain(String.fromCharCode(27));
  });

  it('prints nothing with --json (the JSON is the output)', () => {
    const out = sink(true);
    progressView(out.stream, true).update(steps[0]!);
    expect(out.text()).toBe('');
  });
});

describe('ccs exit codes', () => {
  const error = (status: number, name: string, code: string, operationId: string | null = null) =>
    new ApiError(status, { title: 't', name, detail: 'd', status }, code, operationId);
  const exitOf = (e: unknown) => {
    const out = sink(false);
    const err = sink(false);
    return { code: report({ out: out.stream, err: err.stream, json: false }, e), said: err.text() };
  };

  it('tells apart an operation that failed, invalid input, auth and an unreachable API', () => {
    expect(exitOf(error(400, 'identity', 'IdentityLogonFailed', 'op-1')).code).toBe(EXIT.operationFailed);
    expect(exitOf(error(400, 'path', 'InvalidParameter')).code).toBe(EXIT.invalidInput);
    expect(exitOf(error(412, 'If-Match', 'PreconditionFailed')).code).toBe(EXIT.invalidInput);
    expect(exitOf(error(403, 'path', 'Forbidden')).code).toBe(EXIT.invalidInput);
    expect(exitOf(error(403, 'role', 'InsufficientRole')).code).toBe(EXIT.auth);
    expect(exitOf(error(401, 'Authorization', 'InvalidToken')).code).toBe(EXIT.auth);
    expect(exitOf(error(503, 'storage', 'DependencyUnavailable')).code).toBe(EXIT.unreachable);
    expect(exitOf(new UnreachableError('http://x/api', new Error('ECONNREFUSED'))).code).toBe(
      EXIT.unreachable,
    );
  });

  it('says the field at fault, the API words and what to do', () => {
    const { said } = exitOf(error(400, 'private_key_password', 'InvalidParameter'));
    expect(said).toBe(
      'ccs: 400 private_key_password: d (InvalidParameter)\n  Correct "private_key_password" and try again.\n',
    );
  });
});
