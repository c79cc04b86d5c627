/**
 * The local stand-in for the Functions host's HTTP side: a node:http server that routes
 * `/api/...` through the same route table `app.http(...)` reads, builds `HttpRequest`s the
 * way the host does, and writes the handlers' responses back. Bodies over the limit are
 * refused while streaming, before they are buffered.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { HttpResponseInit } from '@azure/functions';
import functions from '@azure/functions';
import { httpRoutes, matchRoute, routePath, type HttpMethod } from '../functions/route-table.js';
import { MAX_BODY_BYTES } from '../functions/http/request-body.js';
import { errorResponse, json } from '../functions/http/respond.js';
import { DomainError } from '../shared/errors.js';
import type { Logger } from '../shared/log.js';
import { invocationContext } from './invocation-context.js';

const { HttpRequest } = functions;

class BodyTooLarge extends Error {}
class BodyTimeout extends Error {}

/** How long a client may take to send its whole body (a slow-body client holds a connection). */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;

function readBody(req: IncomingMessage, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // A declared size over the limit is refused before a byte of the body is waited for.
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.pause();
      reject(new BodyTimeout());
    }, timeoutMs);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        clearTimeout(timer);
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
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

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  bodyTimeoutMs: number,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  // `/api` and `/api/` are the root; one trailing slash is ignored, as the Functions host does.
  const path = routePath(url.pathname);
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
    bytes = await readBody(req, bodyTimeoutMs);
  } catch (error) {
    if (error instanceof BodyTimeout) {
      // Answer and drop the connection: the rest of a trickling body is not worth waiting for.
      res.setHeader('Connection', 'close');
      res.once('finish', () => req.destroy());
      const seconds = Math.max(1, Math.round(bodyTimeoutMs / 1000));
      return send(
        res,
        json(
          408,
          {
            title: 'Request timeout',
            name: 'body',
            detail: `The request body was not received within ${seconds} s`,
            status: 408,
          },
          { 'x-ms-error-code': 'RequestTimeout' },
        ),
      );
    }
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

/** Start the local HTTP host; resolves once listening, rejects when it cannot listen. */
export async function startHttpHost(opts: {
  port: number;
  host?: string;
  log: Logger;
  /** How long a request body may take to arrive (default 10 s); then 408 and the connection is closed. */
  bodyTimeoutMs?: number;
  /** How long the request line and headers may take (default 20 s; Node's own default is 60 s). */
  headersTimeoutMs?: number;
}): Promise<{ server: Server; url: string }> {
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const headersTimeout = opts.headersTimeoutMs ?? 20_000;
  const serverOptions = {
    headersTimeout,
    // Node enforces headersTimeout on this interval; keep it a fraction of the timeout.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  const server = createServer(serverOptions, (req, res) => {
    handle(req, res, opts.log, bodyTimeoutMs).catch(() => {
      opts.log.error('local host failed to handle a request', { method: req.method });
      if (!res.headersSent)
        void send(res, json(503, { title: 'Service unavailable', detail: 'Retry later', status: 503 }));
    });
  });
  // A taken port rejects (EADDRINUSE, with `port`) instead of crashing the process.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  return { server, url: `http://127.0.0.1:${port}/api` };
}
