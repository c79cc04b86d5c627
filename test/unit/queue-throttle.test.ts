import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  admitRequest,
  DOCUMENTED_QUEUE_LIMITS,
  QueueThrottle,
  queueKind,
  queueTarget,
} from '../../bench/support/queue-throttle.js';

describe("Queue Storage's scalability targets in front of the emulator", () => {
  it('holds one queue to its messages per second and the account to its requests per second', () => {
    let now = 0;
    const throttle = new QueueThrottle({ now: () => now });
    expect(throttle.limits).toEqual(DOCUMENTED_QUEUE_LIMITS);
    for (let i = 0; i < 2000; i++) expect(throttle.admit('ccs-reports', true).allowed).toBe(true);
    expect(throttle.admit('ccs-reports', true)).toEqual({ allowed: false, limit: 'queue' });
    // Another queue has its own budget; the account has room left.
    expect(throttle.admit('h-bench-web-0001', true).allowed).toBe(true);
    now = 999;
    expect(throttle.admit('ccs-reports', true).allowed).toBe(false);
    now = 1000; // the first second's requests leave the window
    expect(throttle.admit('ccs-reports', true).allowed).toBe(true);
    expect(throttle.snapshot().refused).toEqual({ queue: 2, account: 0 });
    expect(throttle.snapshot().refusedByKind).toEqual({ reports: 2, commands: 0, other: 0 });
  });

  it('the account budget counts every queue request, messages or not', () => {
    const throttle = new QueueThrottle({ scale: 0.001, now: () => 0 }); // 2 messages, 20 requests
    expect(throttle.limits).toEqual({ queueMessagesPerSecond: 2, accountRequestsPerSecond: 20 });
    for (let i = 0; i < 20; i++) expect(throttle.admit(`h-q-${i}`, i % 2 === 0).allowed).toBe(true);
    expect(throttle.admit('', false)).toEqual({ allowed: false, limit: 'account' });
    expect(throttle.snapshot().refusedByKind.other).toBe(1);
  });

  it('a receive counts the messages it returned; refused requests count nowhere', () => {
    const throttle = new QueueThrottle({ limits: { queueMessagesPerSecond: 10 }, now: () => 0 });
    expect(throttle.admit('ccs-reports', true).allowed).toBe(true);
    throttle.addMessages('ccs-reports', 8); // a batch of 9
    expect(throttle.admit('ccs-reports', true).allowed).toBe(true);
    for (let i = 0; i < 5; i++) expect(throttle.admit('ccs-reports', true).allowed).toBe(false);
    expect(throttle.snapshot().admitted).toBe(2);
  });

  it('reads the queue and the kind of request from the path', () => {
    expect(queueTarget('/devstoreaccount1/ccs-reports/messages?numofmessages=16')).toEqual({
      queue: 'ccs-reports',
      messages: true,
      receive: true,
    });
    expect(queueTarget('/devstoreaccount1/h-x/messages/abc?popreceipt=1')).toMatchObject({ receive: false });
    expect(queueTarget('/devstoreaccount1/h-x?comp=metadata')).toMatchObject({ messages: false });
    expect(queueTarget('/devstoreaccount1?comp=list')).toMatchObject({ queue: '', messages: false });
    expect([queueKind('ccs-reports'), queueKind('h-a-b'), queueKind('h-a-b-poison')]).toEqual([
      'reports',
      'commands',
      'other',
    ]);
  });

  describe('over HTTP', () => {
    let server: Server | undefined;
    afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

    it('answers 503 ServerBusy in the REST error format, and counts the messages a receive returned', async () => {
      const throttle = new QueueThrottle({
        limits: { queueMessagesPerSecond: 3, accountRequestsPerSecond: 100 },
      });
      server = createServer((req, res) => {
        if (!admitRequest(throttle, req, res)) return;
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          '<QueueMessagesList><QueueMessage></QueueMessage><QueueMessage></QueueMessage></QueueMessagesList>',
        );
      });
      await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
      const port = (server.address() as AddressInfo).port;
      const get = () =>
        new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
          const req = request(
            {
              port,
              host: '127.0.0.1',
              path: '/devstoreaccount1/q/messages',
              headers: { 'x-ms-version': '2025-11-05' },
            },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      expect((await get()).status).toBe(200); // 1 admitted + 1 more returned = 2 of 3
      expect((await get()).status).toBe(200); // admitted at 2, returns 2 more: 4
      const refused = await get();
      expect(refused.status).toBe(503);
      expect(refused.headers['x-ms-error-code']).toBe('ServerBusy');
      expect(refused.headers['x-ms-version']).toBe('2025-11-05');
      expect(refused.headers['retry-after']).toBeUndefined(); // Storage documents none
      expect(refused.body).toMatch(
        /^<\?xml version="1.0" encoding="utf-8"\?><Error><Code>ServerBusy<\/Code><Message>The server is currently unable/,
      );
      expect(throttle.snapshot().refused.queue).toBe(1);
    });
  });
});
