/**
 * Bodies no client should send: oversized (declared and streamed), deeply nested, with
 * duplicate member names, in the wrong media type or encoding, and too slow. Raw sockets where
 * fetch would be too polite. Each answer is IIS-shaped and names `body` (or the field), nothing
 * changes, and the server keeps serving everyone else.
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpHost } from '../../local/http-host.js';
import { silentLogger } from '../../shared/log.js';
import { MAX_BODY_BYTES } from '../../functions/http/request-body.js';
import { firstDuplicateKey } from '../../shared/json-duplicates.js';
import { readJson, startApiHarness, type ApiHarness } from '../support/api-harness.js';
import { recordFigures, Tally } from './support/results.js';
import { diffState, StateProbe } from './support/state.js';

const RESOURCE = '/webserver/centralized-certificates';
const ENABLED = 'be-enabled';
const BODY_TIMEOUT_MS = 600;
const HEADERS_TIMEOUT_MS = 800;
const tally = new Tally();

let api: ApiHarness;
let probe: StateProbe;
/** A second local host on the same handlers, with short timeouts for the slow-client tests. */
let strict: { server: Server; url: string };

const valid = {
  path: 'C:\\certs',
  identity: { username: 'CONTOSO\\svc', password: 'edge-Pa55' },
  private_key_password: 'edge-key',
};

beforeAll(async () => {
  api = await startApiHarness();
  probe = new StateProbe(api.azurite.connectionString, api.vault);
  const res = await api.request('POST', `${RESOURCE}/${ENABLED}`, {
    body: valid,
    headers: { Prefer: 'wait=5' },
  });
  expect(res.status).toBe(200);
  strict = await startHttpHost({
    port: 0,
    log: silentLogger,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
    headersTimeoutMs: HEADERS_TIMEOUT_MS,
  });
});

afterAll(async () => {
  recordFigures('body-edge', { requests: tally.get('requests'), slowClients: tally.get('slow') });
  strict?.server.closeAllConnections();
  await new Promise<void>((resolve) => (strict ? strict.server.close(() => resolve()) : resolve()));
  await api?.close();
});

async function send(
  method: string,
  path: string,
  body: string | Uint8Array,
  contentType = 'application/json',
) {
  tally.add('requests');
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { 'Access-Token': `Bearer ${api.writeToken}`, 'Content-Type': contentType },
    body,
  });
  return { status: res.status, body: (await readJson(res)) as Record<string, unknown> };
}

/** A raw HTTP/1.1 exchange: write `parts` with `gapMs` between them, collect what comes back. */
function raw(
  url: string,
  parts: string[],
  gapMs = 0,
  untilMs = 5000,
): Promise<{ text: string; closed: boolean; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    let closed = false;
    const socket: Socket = connect(Number(port), hostname);
    const done = () => resolve({ text, closed, ms: Date.now() - started });
    const timer = setTimeout(() => {
      socket.destroy();
      done();
    }, untilMs);
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      clearTimeout(timer);
      done();
    });
    socket.on('connect', () => {
      void (async () => {
        for (const part of parts) {
          if (socket.destroyed) return;
          socket.write(part);
          if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });
  });
}

const head = (path: string, token: string, extra: string[] = []) =>
  [`PATCH /api${path} HTTP/1.1`, 'Host: 127.0.0.1', `Access-Token: Bearer ${token}`, ...extra, '', ''].join(
    '\r\n',
  );

describe('oversized bodies', () => {
  it('refuses a declared size over 64 KiB before reading it (413 body), and closes', async () => {
    const before = await probe.snapshot();
    const reply = await raw(api.url, [
      head(`${RESOURCE}/${ENABLED}`, api.writeToken, [
        'Content-Type: application/json',
        `Content-Length: ${10 * 1024 * 1024}`,
      ]),
      '{"path":"',
    ]);
    tally.add('requests');
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply.text).toContain('"name":"body"');
    expect(reply.closed).toBe(true);
    expect(diffState(before, await probe.snapshot())).toEqual([]);
  });

  it('refuses a chunked body once it passes 64 KiB, without a declared size', async () => {
    const chunk = 'a'.repeat(16 * 1024);
    const parts = [
      head(`${RESOURCE}/${ENABLED}`, api.writeToken, [
        'Content-Type: application/json',
        'Transfer-Encoding: chunked',
      ]),
      ...Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`),
      '0\r\n\r\n',
    ];
    const reply = await raw(api.url, parts);
    tally.add('requests');
    expect(reply.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(reply.text).toContain('"name":"body"');
  });

  it('accepts a body of exactly 64 KiB (the limit is inclusive) and judges its content', async () => {
    const text = JSON.stringify({ path: 'C:\\certs\\big', hosts: '' });
    const padded = `${text.slice(0, -2)}${'x'.repeat(MAX_BODY_BYTES - text.length)}"}`;
    expect(Buffer.byteLength(padded)).toBe(MAX_BODY_BYTES);
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, padded);
    expect(res.status).toBe(202);
  });
});

describe('deeply nested JSON', () => {
  const deepArray = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

  it('refuses 30,000 levels where a string is expected, naming the field', async () => {
    const res = await send('POST', `${RESOURCE}/be-deep`, `{"path":${deepArray(30_000)}}`);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('path');
  });

  it('ignores deep nesting in a read-only echo field (nothing to change: 200)', async () => {
    for (const body of [`{"hosts":${deepArray(30_000)}}`, `{"_links":${deepObject(10_000)}}`]) {
      const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, body);
      expect(res.status).toBe(200);
    }
  });

  it('refuses unbalanced nesting as invalid JSON', async () => {
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, '['.repeat(60_000));
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('body');
  });
});

describe('duplicate member names', () => {
  it.each([
    ['{"path":"C:\\\\certs","path":"C:\\\\other"}', 'path'],
    ['{"path":"C:\\\\certs","p\\u0061th":"C:\\\\other"}', 'path'],
    ['{"identity":{"password":"a","password":"b"}}', 'identity.password'],
    ['{"hosts":[{"x":1},{"x":1,"x":2}]}', 'hosts.1.x'],
    ['{"__proto__":{},"__proto__":{}}', '__proto__'],
  ])('refuses %s naming %s', async (body, name) => {
    const before = await probe.snapshot();
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ title: 'Invalid parameter', name, status: 400 });
    expect(diffState(before, await probe.snapshot())).toEqual([]);
  });

  it('keeps equal names in different objects apart', async () => {
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, '{"hosts":{"a":1},"_links":{"a":1}}');
    expect(res.status).toBe(200);
  });
});

describe('the duplicate-name scan (shared/json-duplicates.ts)', () => {
  it('finds none in anything JSON.stringify writes, and finds one put anywhere', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        expect(firstDuplicateKey(JSON.stringify(value))).toBeNull();
      }),
      { seed: 11, numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1 }),
        fc.array(fc.constantFrom('a', 'b'), { maxLength: 4 }),
        (object, nesting) => {
          const key = Object.keys(object)[0]!;
          const text = JSON.stringify(object);
          // The first member repeated at the end, the object wrapped in `nesting` levels.
          let doc = `${text.slice(0, -1)},${JSON.stringify(key)}:0}`;
          for (const name of nesting) doc = `{${JSON.stringify(name)}:${doc}}`;
          const path = [...[...nesting].reverse(), key].join('.');
          expect(firstDuplicateKey(doc)).toBe(path.slice(0, 64));
        },
      ),
      { seed: 12, numRuns: 500 },
    );
  });
});

describe('media types and encodings', () => {
  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/json; charset=iso-8859-1',
    'application/xml',
    'multipart/form-data; boundary=x',
  ])('refuses %s with 415 naming Content-Type', async (type) => {
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, JSON.stringify({ path: 'C:\\certs\\x' }), type);
    expect(res.status).toBe(415);
    expect(res.body.name).toBe('Content-Type');
  });

  it.each(['Application/JSON', 'application/json; charset="UTF-8"', 'application/merge-patch+json'])(
    'accepts %s',
    async (type) => {
      const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, '{"hosts":1}', type);
      expect(res.status).toBe(200);
    },
  );

  it('refuses bytes that are not UTF-8 instead of guessing (a password would change)', async () => {
    const body = Buffer.from('{"identity":{"password":"p\xe4ss"}}', 'latin1');
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'body', detail: 'The request body is not valid UTF-8' });
  });

  it('accepts a UTF-8 byte-order mark', async () => {
    const res = await send('PATCH', `${RESOURCE}/${ENABLED}`, `\uFEFF{"hosts":1}`);
    expect(res.status).toBe(200);
  });

  it('does not let __proto__ reach any object prototype', async () => {
    const res = await send(
      'POST',
      `${RESOURCE}/be-proto`,
      JSON.stringify({ ...valid, constructor: { prototype: { polluted: true } } }).replace(
        '"constructor"',
        '"__proto__"',
      ),
    );
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('slow clients', () => {
  it(`answers 408 naming body when the body stalls, within the ${BODY_TIMEOUT_MS} ms limit, and closes`, async () => {
    tally.add('slow');
    const reply = await raw(strict.url, [
      head(`${RESOURCE}/${ENABLED}`, api.writeToken, [
        'Content-Type: application/json',
        'Content-Length: 100',
      ]),
      '{"path":',
    ]);
    expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply.text).toContain('"name":"body"');
    expect(reply.closed).toBe(true);
  });

  it('times out a trickling body on its total time, not on idle gaps', async () => {
    tally.add('slow');
    const body = JSON.stringify({ path: 'C:\\certs\\slow' }).padEnd(60, ' ');
    const reply = await raw(
      strict.url,
      [
        head(`${RESOURCE}/${ENABLED}`, api.writeToken, [
          'Content-Type: application/json',
          `Content-Length: ${body.length}`,
        ]),
        ...body.split(''),
      ],
      50, // one byte every 50 ms: never idle for long, 3 s in total
    );
    // 3 s of body at one byte per 50 ms: only a limit on the total time answers 408.
    expect(reply.text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('drops a client whose headers never end', async () => {
    tally.add('slow');
    const reply = await raw(
      strict.url,
      ['PATCH /api/webserver HTTP/1.1\r\nHost: x\r\n', 'X-Slow: 1\r\n'],
      100,
      8000,
    );
    // Closed by the server: the client itself would have waited 8 s.
    expect(reply.closed).toBe(true);
    expect(reply.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS);
  });

  it('keeps serving other callers while 50 slow clients hold connections', async () => {
    const slow = Array.from({ length: 50 }, () =>
      raw(strict.url, [
        head(`${RESOURCE}/${ENABLED}`, api.writeToken, [
          'Content-Type: application/json',
          'Content-Length: 10',
        ]),
      ]),
    );
    tally.add('slow', 50);
    let slowAnswered = 0;
    for (const reply of slow) void reply.then(() => slowAnswered++);
    const res = await fetch(`${strict.url}${RESOURCE}/${ENABLED}`, {
      headers: { 'Access-Token': `Bearer ${api.readToken}` },
    });
    expect(res.status).toBe(200);
    // Served while every slow client still held its connection (none was answered yet).
    expect(slowAnswered).toBe(0);
    const replies = await Promise.all(slow);
    expect(replies.every((r) => r.text.startsWith('HTTP/1.1 408 '))).toBe(true);
  });
});
