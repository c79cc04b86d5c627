import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueServiceClient } from '@azure/storage-queue';
import { busyJitterMs, withBusyJitter } from '../../shared/adapters/storage-busy-jitter.js';
import { connectionStringFor } from '../../local/azurite.js';

/** A queue endpoint that answers every request as Azure Storage does over a target. */
let server: Server;
let requests = 0;
let status = 503;

beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy' });
    res.end(
      '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>' +
        '<Message>Operations per second is over the account limit.</Message></Error>',
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const port = () => (server.address() as AddressInfo).port;

describe('jitter on the Storage SDK retries of a throttled request', () => {
  it('waits a random share of the next exponential step, capped, never more', () => {
    const options = { retryDelayInMs: 250, maxTries: 4, maxRetryDelayInMs: 600 };
    expect(busyJitterMs(1, options, () => 0.5)).toBe(125); // first retry: the SDK waits 0, we 0–250
    expect(busyJitterMs(2, options, () => 0.5)).toBe(250); // second: 0–500
    expect(busyJitterMs(3, options, () => 0.999)).toBe(599); // capped at maxRetryDelayInMs
    expect(busyJitterMs(1, options, () => 0)).toBe(0);
  });

  it.each([503, 500])(
    'a %i is retried by the SDK, with jitter before every retry and none after the last try',
    async (code) => {
      status = code;
      requests = 0;
      const draws: number[] = [];
      const service = withBusyJitter(
        QueueServiceClient.fromConnectionString(connectionStringFor(port(), port()), {
          retryOptions: { maxTries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
        }),
        {
          maxTries: 3,
          retryDelayInMs: 1,
          maxRetryDelayInMs: 5,
          random: () => {
            draws.push(requests);
            return 0.5;
          },
        },
      );
      // Two queues: the policy is added once to the pipeline every QueueClient shares.
      for (const name of ['a', 'b']) {
        await expect(service.getQueueClient(name).sendMessage('x')).rejects.toMatchObject({
          statusCode: code,
        });
      }
      expect(requests).toBe(6);
      // Jitter drawn after tries 1 and 2 of each request, not after its third (last) try.
      expect(draws).toEqual([1, 2, 4, 5]);
    },
  );

  it('adding it twice to one client adds it once', async () => {
    status = 503;
    requests = 0;
    let draws = 0;
    const options = { maxTries: 2, retryDelayInMs: 1, random: () => (draws++, 0) };
    const service = QueueServiceClient.fromConnectionString(connectionStringFor(port(), port()), {
      retryOptions: options,
    });
    withBusyJitter(withBusyJitter(service, options), options);
    await expect(service.getQueueClient('a').sendMessage('x')).rejects.toMatchObject({ statusCode: 503 });
    expect(requests).toBe(2);
    expect(draws).toBe(1);
  });
});
