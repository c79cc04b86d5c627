/**
 * Writes a simulated server's applicationHost.config, as an administrator (IIS Manager, appcmd)
 * would edit it: the local demo and tests configure a simulated host's sites with it. The agent
 * then reads the file exactly as it reads IIS's own (agent/bindings/).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../atomic-file.js';
import { APPLICATION_HOST_CONFIG, REDIRECTION_CONFIG } from '../../bindings/config-reader.js';

export interface SimulatedBinding {
  /** Default `https`. */
  protocol?: string;
  /** `ip:port:host`, e.g. `*:443:www.contoso.com` or `[::1]:443:www.contoso.com`. */
  bindingInformation: string;
  /** Default 3 (CentralCertStore + Sni). */
  sslFlags?: number;
}

export interface SimulatedSite {
  name: string;
  bindings: SimulatedBinding[];
}

const escape = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The XML of an applicationHost.config holding these sites (and nothing else IIS would need). */
export function applicationHostXml(sites: readonly SimulatedSite[]): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<configuration>',
    '  <system.applicationHost>',
    '    <sites>',
  ];
  sites.forEach((site, index) => {
    lines.push(`      <site name="${escape(site.name)}" id="${index + 1}">`, '        <bindings>');
    for (const b of site.bindings) {
      lines.push(
        `          <binding protocol="${escape(b.protocol ?? 'https')}" bindingInformation="${escape(b.bindingInformation)}" sslFlags="${b.sslFlags ?? 3}" />`,
      );
    }
    lines.push('        </bindings>', '      </site>');
  });
  lines.push('    </sites>', '  </system.applicationHost>', '</configuration>', '');
  return lines.join('\r\n');
}

/** Replace the sites of the simulated server whose configuration folder is `configDir`. */
export async function writeSimulatedSites(configDir: string, sites: readonly SimulatedSite[]): Promise<void> {
  await mkdir(configDir, { recursive: true });
  await writeFileAtomic(join(configDir, APPLICATION_HOST_CONFIG), applicationHostXml(sites));
}

/** Point the simulated server at a shared configuration folder (`null` turns redirection off). */
export async function writeSimulatedRedirection(configDir: string, path: string | null): Promise<void> {
  await mkdir(configDir, { recursive: true });
  const element =
    path === null
      ? '<configurationRedirection enabled="false" />'
      : `<configurationRedirection enabled="true" path="${escape(path)}" userName="CONTOSO\\config-reader" password="[enc:IISRsaProvider:simulated:enc]" />`;
  await writeFileAtomic(
    join(configDir, REDIRECTION_CONFIG),
    `<configuration>\r\n  <configSections>\r\n    <section name="configurationRedirection" />\r\n  </configSections>\r\n  ${element}\r\n</configuration>\r\n`,
  );
}
