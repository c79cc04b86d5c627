/** Valid reports of host `web01` in ccs-id `farm-a`, for tests of what is done with a report. */
import { MESSAGE_VERSION, type HelloReport, type ResultReport } from '../../shared/messages.js';

export const sampleHello = (extra: Partial<HelloReport> = {}): HelloReport => ({
  v: MESSAGE_VERSION,
  ccsId: 'farm-a',
  host: 'web01',
  type: 'hello',
  agentVersion: '1',
  backend: 'simulated',
  actual: { enabled: false, path: null, username: null },
  appliedGeneration: 0,
  at: '2026-06-01T12:00:00.000Z',
  ...extra,
});

export const sampleResult = (): ResultReport => ({
  v: MESSAGE_VERSION,
  ccsId: 'farm-a',
  host: 'web01',
  type: 'result',
  operationId: 'op-1',
  phase: 'apply',
  generation: 3,
  outcome: 'succeeded',
  error: null,
  actual: { enabled: true, path: '\\\\files\\ccs', username: 'CONTOSO\\svc' },
  appliedGeneration: 3,
  at: '2026-06-01T12:00:00.000Z',
});
