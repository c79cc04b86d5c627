/** Free loopback ports for processes that need a concrete port number up front. */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `preferred` when given (non-zero), else a free port. */
export async function portOr(preferred: number | undefined): Promise<number> {
  return preferred ? preferred : freePort();
}
