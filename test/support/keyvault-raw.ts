/**
 * One HTTPS request to the local Key Vault that bypasses the SDKs, for the edges the SDKs never
 * send (no api-version, bad bodies, unknown routes). Authenticated unless `token` is null.
 */
import { request } from 'node:https';

export interface RawResponse<B> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: B;
}

export interface RawTarget {
  url: string;
  /** PEM of the endpoint's self-signed certificate. */
  ca: string;
  token: string;
}

export function rawKeyVaultRequest<B = Record<string, unknown>>(
  target: RawTarget,
  method: string,
  path: string,
  options: { token?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<RawResponse<B>> {
  const { port } = new URL(target.url);
  const token = options.token === undefined ? target.token : options.token;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        ca: target.ca,
        agent: false,
        headers: { ...(token !== null && { authorization: `Bearer ${token}` }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: (text ? JSON.parse(text) : {}) as B,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
