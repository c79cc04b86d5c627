/**
 * Reads what the certificates API shows about one X.509 certificate, from its DER, with the
 * defensive DER reader of shared/pkcs12 (bounds-checked, depth-capped). Values are formatted
 * as IIS Administration shows them (it uses .NET's X509Certificate2), so a caller moving from
 * IIS Administration to this API sees the same strings:
 *
 * - `subject` / `issuer`: most specific RDN first, `, ` between RDNs, Windows attribute names
 *   (`CN`, `O`, `OU`, `L`, `S`, `C`, `E`, `DC`…), a value quoted when it holds `,+="<>#;` or
 *   outer spaces. For the usual names this is RFC 2253 with `, ` instead of `,`.
 * - `thumbprint`: SHA-1 of the DER, upper-case hex without separators.
 * - `signatureAlgorithm`: Windows names (`sha256RSA`, `sha256ECDSA`…), else the OID.
 * - `validFrom` / `validTo`: ISO 8601 UTC without fractions (`2045-01-01T00:00:00Z`).
 * - `subjectAlternativeNames`: `DNS Name=…`, `IP Address=…` (IPv6 as `openssl x509` prints
 *   it), `RFC822 Name=…`, `URL=…`, `Other Name:Principal Name=…`, `Registered ID=…`.
 * - `intendedPurposes`: the extended key usages by their Windows names, else the OID.
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  Tag,
  TagClass,
  children,
  explicit,
  isContext,
  isUniversal,
  malformed,
  parseSingle,
  readAlgorithm,
  readInteger,
  readOctetString,
  readOid,
  sequence,
  type DerNode,
} from '../pkcs12/der.js';

export interface PublicKeyInfo {
  /** `RSA`, `EC`, `Ed25519`, `Ed448`, `DSA` or the algorithm OID. */
  algorithm: string;
  /** Modulus bits (RSA, DSA) or curve size (EC); null when unknown. */
  size: number | null;
  /** Named curve (`P-256`, `P-384`, `P-521`, or its OID) for EC keys. */
  curve: string | null;
}

export interface X509Info {
  thumbprint: string;
  subject: string;
  issuer: string;
  /** The subject's first common name, if any (the CCS naming rules fall back to it). */
  commonName: string | null;
  serialNumber: string;
  signatureAlgorithm: string;
  validFrom: string;
  validTo: string;
  version: number;
  intendedPurposes: string[];
  subjectAlternativeNames: string[];
  /** The DNS names of the subject alternative name extension, as written (wildcards kept). */
  dnsNames: string[];
  publicKey: PublicKeyInfo;
  isCa: boolean;
}

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'S',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '2.5.4.17': 'PostalCode',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const SIGNATURE_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5RSA',
  '1.2.840.113549.1.1.5': 'sha1RSA',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256RSA',
  '1.2.840.113549.1.1.12': 'sha384RSA',
  '1.2.840.113549.1.1.13': 'sha512RSA',
  '1.2.840.113549.1.1.14': 'sha224RSA',
  '1.2.840.10045.4.1': 'sha1ECDSA',
  '1.2.840.10045.4.3.1': 'sha224ECDSA',
  '1.2.840.10045.4.3.2': 'sha256ECDSA',
  '1.2.840.10045.4.3.3': 'sha384ECDSA',
  '1.2.840.10045.4.3.4': 'sha512ECDSA',
  '1.2.840.10040.4.3': 'sha1DSA',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

const PURPOSES: Readonly<Record<string, string>> = {
  '1.3.6.1.5.5.7.3.1': 'Server Authentication',
  '1.3.6.1.5.5.7.3.2': 'Client Authentication',
  '1.3.6.1.5.5.7.3.3': 'Code Signing',
  '1.3.6.1.5.5.7.3.4': 'Secure Email',
  '1.3.6.1.5.5.7.3.5': 'IP security end system',
  '1.3.6.1.5.5.7.3.6': 'IP security tunnel termination',
  '1.3.6.1.5.5.7.3.7': 'IP security user',
  '1.3.6.1.5.5.7.3.8': 'Time Stamping',
  '1.3.6.1.5.5.7.3.9': 'OCSP Signing',
  '1.3.6.1.4.1.311.20.2.2': 'Smart Card Logon',
  '1.3.6.1.4.1.311.10.3.4': 'Encrypting File System',
  '2.5.29.37.0': 'Any Purpose',
};

const KEY_ALGORITHMS: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.1': 'RSA',
  '1.2.840.113549.1.1.10': 'RSA',
  '1.2.840.10045.2.1': 'EC',
  '1.2.840.10040.4.1': 'DSA',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

const CURVES: Readonly<Record<string, { name: string; size: number }>> = {
  '1.2.840.10045.3.1.7': { name: 'P-256', size: 256 },
  '1.3.132.0.34': { name: 'P-384', size: 384 },
  '1.3.132.0.35': { name: 'P-521', size: 521 },
  '1.3.132.0.10': { name: 'secp256k1', size: 256 },
};

const OID_SAN = '2.5.29.17';
const OID_EKU = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_UPN = '1.3.6.1.4.1.311.20.2.3';

/** Universal string tags besides those of der.ts. */
const NUMERIC_STRING = 18;
const TELETEX_STRING = 20;
const UNIVERSAL_STRING = 28;
const VISIBLE_STRING = 26;

/** A directory string, decoded; anything else (or an odd encoding) as `#` + the DER in hex. */
function directoryString(node: DerNode): string {
  if (node.cls === TagClass.Universal && !node.constructed) {
    switch (node.tag) {
      case Tag.Utf8String:
        return node.value.toString('utf8');
      case Tag.PrintableString:
      case Tag.Ia5String:
      case NUMERIC_STRING:
      case VISIBLE_STRING:
      case TELETEX_STRING:
        return node.value.toString('latin1');
      case Tag.BmpString:
        if (node.value.length % 2 === 0) return Buffer.from(node.value).swap16().toString('utf16le');
        break;
      case UNIVERSAL_STRING:
        if (node.value.length % 4 === 0) {
          let out = '';
          for (let i = 0; i < node.value.length; i += 4)
            out += String.fromCodePoint(node.value.readUInt32BE(i));
          return out;
        }
        break;
    }
  }
  return `#${node.raw.toString('hex').toUpperCase()}`;
}

function quoteValue(value: string): string {
  const needs = /[,+="<>#;\n\r]/.test(value) || value !== value.trim() || value === '';
  return needs ? `"${value.replace(/"/g, '""')}"` : value;
}

interface Rdn {
  type: string;
  value: string;
}

function readName(node: DerNode | undefined, what: string): Rdn[][] {
  return sequence(node, what).map((rdn) => {
    if (!isUniversal(rdn, Tag.Set)) throw malformed(`${what}: expected a relative distinguished name`);
    return children(rdn).map((atv) => {
      const [type, value] = sequence(atv, `${what} attribute`);
      if (value === undefined) throw malformed(`${what}: attribute without a value`);
      return { type: readOid(type, `${what} attribute type`), value: directoryString(value) };
    });
  });
}

function formatName(rdns: Rdn[][]): string {
  return [...rdns]
    .reverse()
    .map((rdn) =>
      rdn.map((a) => `${ATTRIBUTE_NAMES[a.type] ?? `OID.${a.type}`}=${quoteValue(a.value)}`).join(' + '),
    )
    .join(', ');
}

function readTime(node: DerNode | undefined, what: string): string {
  if (node === undefined || node.cls !== TagClass.Universal || node.constructed) {
    throw malformed(`expected ${what}`);
  }
  const text = node.value.toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (node.tag === Tag.UtcTime) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(text);
    if (!match) throw malformed(`bad ${what}`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === Tag.GeneralizedTime) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(text);
    if (!match) throw malformed(`bad ${what}`);
    year = Number(match[1]);
  } else {
    throw malformed(`expected ${what}`);
  }
  const field = (i: number): number => Number(match[i] ?? '0');
  const stated = [year, field(2), field(3), field(4), field(5), field(6)];
  // setUTCFullYear, not Date.UTC: that one reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, field(2) - 1, field(3));
  date.setUTCHours(field(4), field(5), field(6), 0);
  // Date rolls what is out of range (month 13, 30 February, 25:00) over into another time, which
  // would show a validity the certificate does not state: a real time reads back the same.
  const readBack = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  if (readBack.join() !== stated.join()) throw malformed(`bad ${what}`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** IPv4 dotted; IPv6 as eight upper-case groups without leading zeros (as `openssl x509` prints). */
function formatIp(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16).toUpperCase());
    return groups.join(':');
  }
  return `#${bytes.toString('hex').toUpperCase()}`;
}

function readGeneralNames(extnValue: Buffer): { names: string[]; dns: string[] } {
  const names: string[] = [];
  const dns: string[] = [];
  for (const name of sequence(parseSingle(extnValue, 'subject alternative name', 0), 'general names')) {
    if (name.cls !== TagClass.Context) continue;
    switch (name.tag) {
      case 0: {
        const [typeId, value] = children(name);
        const oid = readOid(typeId, 'other name type');
        const inner = value && isContext(value, 0) && value.constructed ? children(value)[0] : undefined;
        const text = inner ? directoryString(inner) : '';
        names.push(oid === OID_UPN ? `Other Name:Principal Name=${text}` : `Other Name:${oid}=${text}`);
        break;
      }
      case 1:
        names.push(`RFC822 Name=${name.value.toString('latin1')}`);
        break;
      case 2: {
        const host = name.value.toString('latin1');
        dns.push(host);
        names.push(`DNS Name=${host}`);
        break;
      }
      case 4: {
        const inner = name.constructed ? children(name)[0] : undefined;
        if (inner) names.push(`Directory Address:${formatName(readName(inner, 'directory name'))}`);
        break;
      }
      case 6:
        names.push(`URL=${name.value.toString('latin1')}`);
        break;
      case 7:
        names.push(`IP Address=${formatIp(name.value)}`);
        break;
      case 8: {
        const oid = readOid({ ...name, cls: TagClass.Universal, tag: Tag.Oid }, 'registered id');
        names.push(`Registered ID=${oid}`);
        break;
      }
      default:
        break;
    }
  }
  return { names, dns };
}

function readPublicKey(spki: DerNode): PublicKeyInfo {
  const [algorithmNode] = sequence(spki, 'subject public key info');
  const algorithm = readAlgorithm(algorithmNode, 'public key algorithm');
  const name = KEY_ALGORITHMS[algorithm.oid] ?? algorithm.oid;
  if (name === 'EC') {
    const curveOid =
      algorithm.params && isUniversal(algorithm.params, Tag.Oid) ? readOid(algorithm.params) : null;
    const curve = curveOid ? CURVES[curveOid] : undefined;
    return { algorithm: name, size: curve?.size ?? null, curve: curve?.name ?? curveOid };
  }
  let size: number | null = null;
  if (name === 'RSA' || name === 'DSA') {
    try {
      const details = createPublicKey({ key: spki.raw, format: 'der', type: 'spki' }).asymmetricKeyDetails;
      size = details?.modulusLength ?? null;
    } catch {
      size = null;
    }
  }
  return { algorithm: name, size, curve: null };
}

/** Parses one certificate (DER). Throws a Pkcs12Error 'malformed' when it is not one. */
export function readX509(der: Buffer): X509Info {
  const [tbs, signatureAlgorithm] = sequence(parseSingle(der, 'certificate'), 'certificate');
  const fields = sequence(tbs, 'tbsCertificate');
  let i = 0;
  let version = 1;
  const first = fields[0];
  if (first && isContext(first, 0)) {
    version = readInteger(explicit(first, 0, 'version')) + 1;
    i++;
  }
  const serial = fields[i++];
  if (!serial || !isUniversal(serial, Tag.Integer)) throw malformed('expected the serial number');
  i++; // the signature algorithm inside tbsCertificate repeats the outer one
  const issuer = readName(fields[i++], 'issuer');
  const [notBefore, notAfter] = sequence(fields[i++], 'validity');
  const subject = readName(fields[i++], 'subject');
  const spki = fields[i++];
  if (!spki) throw malformed('missing the subject public key info');

  let subjectAlternativeNames: string[] = [];
  let dnsNames: string[] = [];
  let intendedPurposes: string[] = [];
  let isCa = false;
  for (const node of fields.slice(i)) {
    if (!isContext(node, 3)) continue;
    for (const extension of sequence(explicit(node, 3, 'extensions'), 'extensions')) {
      const parts = sequence(extension, 'extension');
      const oid = readOid(parts[0], 'extension id');
      const valueNode = parts[parts.length - 1];
      const value = readOctetString(valueNode, 'extension value');
      if (oid === OID_SAN) {
        const read = readGeneralNames(value);
        subjectAlternativeNames = read.names;
        dnsNames = read.dns;
      } else if (oid === OID_EKU) {
        intendedPurposes = sequence(parseSingle(value, 'extended key usage'), 'extended key usage').map(
          (n) => {
            const purpose = readOid(n, 'key purpose');
            return PURPOSES[purpose] ?? purpose;
          },
        );
      } else if (oid === OID_BASIC_CONSTRAINTS) {
        const constraints = sequence(parseSingle(value, 'basic constraints'), 'basic constraints');
        const ca = constraints[0];
        isCa = ca !== undefined && isUniversal(ca, Tag.Boolean) && ca.value[0] !== 0;
      }
    }
  }

  const serialBytes = serial.value;
  let start = 0;
  while (start < serialBytes.length - 1 && serialBytes[start] === 0) start++;
  const signatureOid = readAlgorithm(signatureAlgorithm, 'signature algorithm').oid;
  return {
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    subject: formatName(subject),
    issuer: formatName(issuer),
    commonName: subject.flat().find((a) => a.type === '2.5.4.3')?.value ?? null,
    serialNumber: serialBytes.subarray(start).toString('hex').toUpperCase(),
    signatureAlgorithm: SIGNATURE_ALGORITHMS[signatureOid] ?? signatureOid,
    validFrom: readTime(notBefore, 'notBefore'),
    validTo: readTime(notAfter, 'notAfter'),
    version,
    intendedPurposes,
    subjectAlternativeNames,
    dnsNames,
    publicKey: readPublicKey(spki),
    isCa,
  };
}
