/**
 * The SafeContents parser behind the PKCS#12 reader, reached directly: the input is a
 * SafeContents, wrapped here into an unprotected PFX (no MAC, a `data` ContentInfo). In a real
 * file the same bytes sit inside an encrypted bag that a byte-level mutator cannot get through
 * intact; this is the same code the decrypted bag is given (`collectSafeContents`).
 */
import {
  children,
  explicit,
  readNode,
  readOctetString,
  readOid,
  sequence,
} from '../../../shared/pkcs12/der.js';
import { loadFixture } from '../../support/pfx-fixtures.js';
import type { FuzzTarget } from '../engine/target.js';
import { PKCS12_DICTIONARY, oid, tlv } from './der-dictionary.js';
import { readLikeTheInventory } from './pkcs12.js';

const DATA = '1.2.840.113549.1.7.1';

/** An unprotected PFX whose one `data` ContentInfo holds `safeContents`. */
export function wrapSafeContents(safeContents: Buffer): Buffer {
  const contentInfo = tlv(0x30, Buffer.concat([oid(DATA), tlv(0xa0, tlv(0x04, safeContents))]));
  const authSafe = tlv(0x30, contentInfo);
  const outer = tlv(0x30, Buffer.concat([oid(DATA), tlv(0xa0, tlv(0x04, authSafe))]));
  return tlv(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x03]), outer]));
}

/** The SafeContents of every `data` ContentInfo of a PFX (the ones in clear). */
export function clearSafeContents(pfx: Buffer): Buffer[] {
  const [, authSafeInfo] = sequence(readNode(pfx), 'PFX');
  const authSafe = readOctetString(explicit(sequence(authSafeInfo, 'authSafe')[1], 0, 'content'));
  return children(readNode(authSafe)).flatMap((info) => {
    const [type, content] = sequence(info, 'ContentInfo');
    if (readOid(type) !== DATA || content === undefined) return [];
    return [readOctetString(explicit(content, 0, 'data'))];
  });
}

export const pkcs12SafeContentsTarget: FuzzTarget = {
  name: 'pkcs12-safe-contents',
  description: 'the bags of a PFX (certificates, keys, attributes, nested SafeContents)',
  seeds: () =>
    ['unprotected/www.contoso.com.pfx', 'nomac-clear-certs/www.contoso.com.pfx'].flatMap((f) =>
      clearSafeContents(loadFixture(f)),
    ),
  run(input) {
    readLikeTheInventory(wrapSafeContents(input), '');
  },
  coverage: ['/shared/pkcs12/', '/shared/certificates/'],
  maxLength: 16 * 1024,
  dictionary: PKCS12_DICTIONARY,
};
