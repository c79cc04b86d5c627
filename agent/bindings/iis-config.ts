/**
 * IIS's configuration files, read as data (no PowerShell, no IIS API): the CCS bindings of
 * applicationHost.config and the shared-configuration switch of redirection.config.
 *
 * - A site's bindings are `<configuration><system.applicationHost><sites><site name=…>
 *   <bindings><binding protocol="https" bindingInformation="ip:port:host" sslFlags="n"/>`
 *   (IIS configuration reference, `<binding>`). `<siteDefaults>` bindings are templates for new
 *   sites, not bindings, and are ignored.
 * - `sslFlags` is a bit set (Microsoft.Web.Administration `SslFlags`): 1 Sni (require SNI),
 *   2 CentralCertStore, 4 DisableHTTP2, 8 DisableOCSPStp, 16 DisableQUIC, 32 DisableTLS13,
 *   64 DisableLegacyTLS, 128 NegotiateClientCert. A binding uses CCS when bit 2 is set; only
 *   `https` bindings carry it.
 * - `bindingInformation` is `ip:port:host`: `*` (or empty) for all unassigned addresses, an
 *   IPv6 address in brackets (`[::1]:443:x`), and an empty host for a binding without one.
 * - redirection.config holds `<configuration><configurationRedirection enabled="true"
 *   path="\\server\share" …/>` (IIS configuration reference, `<configurationRedirection>`): when
 *   enabled, IIS reads applicationHost.config from `path` instead of its own folder.
 *
 * The files are parsed with fast-xml-parser after a well-formedness check, so a broken file is a
 * clear error (with its line) rather than a partial list.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { CcsBinding } from '../../shared/messages.js';

/** `sslFlags` bits (Microsoft.Web.Administration.SslFlags). */
export const SSL_FLAGS = { Sni: 1, CentralCertStore: 2 } as const;

/** The XML is not well-formed: `line` says where, as an administrator's editor shows it. */
export class IisConfigError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'IisConfigError';
  }
}

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseAttributeValue: false,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name, _path, _leaf, isAttribute) =>
    isAttribute !== true && (name === 'site' || name === 'binding'),
});

function parseXml(file: string, text: string): XmlNode {
  const xml = text.replace(/^\uFEFF/, '');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new IisConfigError(file, `not well-formed XML at line ${valid.err.line}: ${valid.err.msg}`);
  }
  return parser.parse(xml) as XmlNode;
}

function child(node: unknown, name: string): unknown {
  return typeof node === 'object' && node !== null ? (node as XmlNode)[name] : undefined;
}

function list(node: unknown): XmlNode[] {
  return Array.isArray(node) ? node.filter((n): n is XmlNode => typeof n === 'object' && n !== null) : [];
}

function attribute(node: XmlNode, name: string): string | undefined {
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** `ip:port:host` → its parts; null when it is not in that shape (IIS would refuse the binding). */
export function parseBindingInformation(value: string): { ip: string; port: number; host: string } | null {
  let ip: string;
  let rest: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end === -1 || value[end + 1] !== ':') return null;
    ip = value.slice(1, end);
    rest = value.slice(end + 2);
  } else {
    const colon = value.indexOf(':');
    if (colon === -1) return null;
    ip = value.slice(0, colon);
    rest = value.slice(colon + 1);
  }
  const colon = rest.indexOf(':');
  if (colon === -1) return null;
  const portText = rest.slice(0, colon);
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) return null;
  const host = rest.slice(colon + 1).trim();
  if (host.includes(':')) return null;
  return { ip: ip.trim() === '' ? '*' : ip.trim(), port, host };
}

/** The CCS bindings of an applicationHost.config, sorted (site, host name, ip, port). */
export function parseCcsBindings(text: string, file = 'applicationHost.config'): CcsBinding[] {
  const root = parseXml(file, text);
  const sites = list(child(child(child(root.configuration, 'system.applicationHost'), 'sites'), 'site'));
  const bindings: CcsBinding[] = [];
  for (const site of sites) {
    const name = attribute(site, 'name');
    if (!name) continue;
    for (const binding of list(child(child(site, 'bindings'), 'binding'))) {
      if (attribute(binding, 'protocol')?.trim().toLowerCase() !== 'https') continue;
      const flags = Number(attribute(binding, 'sslFlags') ?? '0');
      if (!Number.isInteger(flags) || (flags & SSL_FLAGS.CentralCertStore) === 0) continue;
      const info = parseBindingInformation(attribute(binding, 'bindingInformation') ?? '');
      if (!info) continue;
      bindings.push({
        site: name.slice(0, 260),
        hostName: info.host.slice(0, 255),
        port: info.port,
        ip: info.ip.slice(0, 64),
        sni: (flags & SSL_FLAGS.Sni) !== 0,
      });
    }
  }
  return bindings.sort(compareBindings);
}

const ordinal = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A stable, locale-free order, so equal lists have equal digests on every machine. */
export function compareBindings(a: CcsBinding, b: CcsBinding): number {
  return (
    ordinal(a.site, b.site) ||
    ordinal(a.hostName.toLowerCase(), b.hostName.toLowerCase()) ||
    ordinal(a.hostName, b.hostName) ||
    ordinal(a.ip, b.ip) ||
    a.port - b.port
  );
}

/** Where redirection.config sends IIS for its configuration: the folder, or null when not redirected. */
export function parseRedirection(text: string, file = 'redirection.config'): string | null {
  const root = parseXml(file, text);
  const redirection = child(root.configuration, 'configurationRedirection');
  if (typeof redirection !== 'object' || redirection === null) return null;
  const node = redirection as XmlNode;
  if (attribute(node, 'enabled')?.trim().toLowerCase() !== 'true') return null;
  const path = attribute(node, 'path')?.trim();
  if (!path) throw new IisConfigError(file, 'configurationRedirection is enabled without a path');
  return path;
}
