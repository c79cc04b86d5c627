/**
 * The simulated IIS's HTTPS listeners: one node `tls` server per address and port that a CCS
 * binding names, each choosing its certificate per handshake from the SNI host name through the
 * simulated CCS provider — as http.sys does for a CCS binding, which is a binding on a port
 * ("IIS matches the port, determines the host name from the request, and searches the
 * centralized certificate store", IIS configuration reference, `<binding>` sslFlags).
 *
 * - A binding on all unassigned addresses (`*`) listens on 127.0.0.1 only (and `::` on ::1): a
 *   simulated server must not be reachable from the network. Other addresses are listened on as
 *   given, so an address this machine does not have fails to listen, as IIS fails to start it.
 * - The listeners follow the bindings each time they are read (`serve`): new ports open, ports no
 *   binding names any more close. A port that cannot be opened (in use) is retried on the next read.
 * - An HTTP request over an established connection gets a one-line 200 answer naming the host,
 *   so `curl -k` shows the demo works; nothing else of IIS is simulated.
 * - Servers are unref'd: they never keep the agent's process alive on their own.
 */
import type { Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import type { CcsBinding } from '../../../shared/messages.js';
import type { SimulatedCcsProvider } from './ccs-provider.js';

/** How long an idle connection to the simulated site is kept. */
const IDLE_SOCKET_MS = 10_000;

/** The address a binding's listener uses: loopback for the "all addresses" forms. */
export function listenAddress(ip: string): string {
  if (ip === '*' || ip === '0.0.0.0') return '127.0.0.1';
  if (ip === '::') return '::1';
  return ip;
}

interface Listener {
  server: Server;
  sockets: Set<Socket>;
}

export class SimulatedListeners {
  private readonly listeners = new Map<string, Listener>();
  /** Why a listener could not open, by `address|port` (for diagnostics and tests). */
  readonly failures = new Map<string, string>();

  constructor(private readonly provider: SimulatedCcsProvider) {}

  /** Open a listener for every address and port the bindings name; close the others. */
  async serve(bindings: readonly CcsBinding[]): Promise<void> {
    const wanted = new Map<string, { address: string; port: number }>();
    for (const binding of bindings) {
      const address = listenAddress(binding.ip);
      wanted.set(`${address}|${binding.port}`, { address, port: binding.port });
    }
    for (const key of [...this.listeners.keys()]) {
      if (!wanted.has(key)) await this.closeOne(key);
    }
    for (const [key, target] of wanted) {
      if (this.listeners.has(key)) continue;
      try {
        this.listeners.set(key, await this.open(target.address, target.port));
        this.failures.delete(key);
      } catch (error) {
        this.failures.set(key, error instanceof Error ? error.message : 'listen failed');
      }
    }
  }

  /** The `address|port` keys listened on now. */
  get listening(): string[] {
    return [...this.listeners.keys()].sort();
  }

  async close(): Promise<void> {
    for (const key of [...this.listeners.keys()]) await this.closeOne(key);
  }

  private open(address: string, port: number): Promise<Listener> {
    const sockets = new Set<Socket>();
    const server = createServer({
      SNICallback: (serverName, done) => {
        this.provider.contextFor(serverName).then(
          (context) => done(null, context),
          (error: unknown) => done(error instanceof Error ? error : new Error('no certificate')),
        );
      },
    });
    // A failed handshake is the client's view of a missing certificate; nothing to do here.
    server.on('tlsClientError', () => {});
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.setTimeout(IDLE_SOCKET_MS, () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    });
    server.on('secureConnection', (socket) => {
      socket.on('error', () => socket.destroy());
      socket.once('data', () => {
        const body = `Served by the simulated IIS for ${socket.servername || 'a client without SNI'}\n`;
        socket.end(
          `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        server.on('error', () => {});
        server.unref();
        resolve({ server, sockets });
      });
    });
  }

  private async closeOne(key: string): Promise<void> {
    const listener = this.listeners.get(key);
    this.listeners.delete(key);
    if (!listener) return;
    for (const socket of listener.sockets) socket.destroy();
    await new Promise<void>((resolve) => listener.server.close(() => resolve()));
  }
}
