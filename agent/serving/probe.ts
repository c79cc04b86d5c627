/**
 * One real TLS handshake to a binding: connect, send SNI, take the certificate the server
 * presents, close. Node's `tls` on every platform (no PowerShell, no child process). The chain is
 * not validated — the question is which certificate IIS serves, not whether a browser would trust
 * it (expiry and names are the coverage API's business). Every outcome is a value: a refused
 * port, a reset, a silent peer (bounded by `timeoutMs`) or a protocol error never throws.
 */
import { createHash } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';

export interface ProbeTarget {
  /** The address to connect to (IPv4 or IPv6, no brackets). */
  address: string;
  port: number;
  /** The SNI host name (ASCII); omitted from the handshake when null. */
  serverName: string | null;
  timeoutMs: number;
}

export type ProbeOutcome = { ok: true; thumbprint: string } | { ok: false; code: string; detail: string };

export type TlsProbe = (target: ProbeTarget) => Promise<ProbeOutcome>;

/** SHA-1 of the DER, upper-case hex: the thumbprint IIS and the certificates API show. */
export function thumbprintOf(der: Buffer): string {
  return createHash('sha1').update(der).digest('hex').toUpperCase();
}

const where = (t: ProbeTarget): string =>
  `${t.address.includes(':') ? `[${t.address}]` : t.address}:${t.port}`;

/** A handshake failure in words an administrator acts on. */
export function describeProbeError(target: ProbeTarget, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `Nothing listens on ${where(target)} (connection refused)`;
    case 'ECONNRESET':
      return `${where(target)} reset the connection during the TLS handshake (IIS does this when it has no certificate for the name)`;
    case 'EADDRNOTAVAIL':
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return `${where(target)} cannot be reached from this host (${error.code})`;
    default:
      return `TLS handshake with ${where(target)} failed: ${error.message}`.slice(0, 500);
  }
}

export const tlsProbe: TlsProbe = (target) =>
  new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    let socket: TLSSocket | undefined;
    const finish = (outcome: ProbeOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket?.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          code: 'Timeout',
          detail: `No TLS answer from ${where(target)} within ${Math.round(target.timeoutMs / 100) / 10} s`,
        }),
      target.timeoutMs,
    );
    try {
      socket = connect({
        host: target.address,
        port: target.port,
        ...(target.serverName ? { servername: target.serverName } : {}),
        rejectUnauthorized: false,
      });
    } catch (error) {
      finish({ ok: false, code: 'ConnectFailed', detail: describeProbeError(target, error as Error) });
      return;
    }
    socket.once('secureConnect', () => {
      const certificate = socket?.getPeerCertificate(false);
      if (!certificate || !certificate.raw) {
        finish({ ok: false, code: 'NoCertificate', detail: `${where(target)} presented no certificate` });
        return;
      }
      finish({ ok: true, thumbprint: thumbprintOf(certificate.raw) });
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({ ok: false, code: error.code ?? 'TlsError', detail: describeProbeError(target, error) }),
    );
    socket.once('close', () =>
      finish({
        ok: false,
        code: 'Closed',
        detail: `${where(target)} closed the connection during the TLS handshake`,
      }),
    );
  });
