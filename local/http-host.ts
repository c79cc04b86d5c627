/**
 * The local stand-in for the Functions host's HTTP side: a node:http server that routes
 * `/api/...` through the same route table `app.http(...)` reads, builds `HttpRequest`s the
 * way the host does, and writes the handlers' responses back. Bodies over the limit are
 * refused while streaming, before they are buffered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpResponseInit } from '@azure/functions';
import functions from '@azure/functions';
import { httpRoutes, matchRoute, type HttpMethod } from '../functions/route-table.js';
import { MAX_BODY_BYTES } from '../functions/http/request-body.js';
import { errorResponse, json } from '../functions/http/respond.js';
import { DomainError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { invocationContext } from './invocation-context.js';

const { HttpRequest } = functions;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function send(res: ServerResponse, response: HttpResponseInit): Promise<void> {
  const headers = new Headers(response.headers);
  let body: string | Buffer | undefined;
  if (response.jsonBody !== undefined) {
    body = JSON.stringify(response.jsonBody);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json; charset=utf-8');
  } else if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) {
    body = response.body;
  }
  res.statusCode = response.status ?? 200;
  headers.forEach((value, key) => res.setHeader(key, value));
  res.end(res.req.method === 'HEAD' ? undefined : body);
  await Promise.resolve();
}

function route(method: string, path: string) {
  for (const candidate of httpRoutes) {
    const params = matchRoute(candidate.route, path);
    if (params && candidate.methods.includes(method as HttpMethod)) return { candidate, params };
  }
  const exists = httpRoutes.some((r) => matchRoute(r.route, path) !== null);
  return exists ? 'method-not-allowed' : null;
}

async function handle(req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname.startsWith('/api/')
    ? url.pathname.slice('/api/'.length).replace(/\/$/, '')
    : null;
  const found = path === null ? null : route(req.method ?? 'GET', path);
  if (found === null || found === 'method-not-allowed') {
    req.resume();
    const status = found === null ? 404 : 405;
    return send(
      res,
      json(status, {
        title: status === 404 ? 'Not found' : 'Method not allowed',
        detail: url.pathname,
        status,
      }),
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readBody(req);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      res.setHeader('Connection', 'close');
      return send(
        res,
        errorResponse(
          new DomainError(
            'too-large',
            'PayloadTooLarge',
            `The request body exceeds ${MAX_BODY_BYTES} bytes`,
            'body',
          ),
        ),
      );
    }
    throw error;
  }
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  const request = new HttpRequest({
    method: req.method ?? 'GET',
    url: url.toString(),
    headers,
    query: Object.fromEntries(url.searchParams),
    params: found.params,
    ...(bytes.length > 0 ? { body: { bytes } } : {}),
  });
  const response = await found.candidate.handler(request, invocationContext(found.candidate.name, log));
  await send(res, response ?? { status: 204 });
}

/** Start the local HTTP host; resolves once listening. */
export async function startHttpHost(opts: {
  port: number;
  host?: string;
  log: Logger;
}): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(req, res, opts.log).catch(() => {
      opts.log.error('local host failed to handle a request', { method: req.method });
      if (!res.headersSent)
        void send(res, json(503, { title: 'Service unavailable', detail: 'Retry later', status: 503 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { server, url: `http://127.0.0.1:${port}/api` };
}
