/**
 * The demo fleet's IIS sites: each simulated host gets an applicationHost.config with HTTPS
 * bindings that use the Central Certificate Store, served by the simulated IIS on a loopback port
 * of its own (two simulated hosts share this machine; a real farm would bind 443 on each server):
 *
 * - `www.contoso.com`     → `www.contoso.com.pfx` (the exact file of the demo share)
 * - `shop.contoso.com`    → `_.contoso.com.pfx` (through the wildcard file)
 * - `expired.contoso.com` → `expired.contoso.com.pfx` (served, but its certificate has expired)
 * - `www.fabrikam.com`    → no file in the demo share: uncovered, its handshakes fail
 */
import { writeSimulatedSites } from '../agent/backends/simulated-iis/sites-file.js';
import { inetsrvConfigDir } from '../agent/backends/simulated.js';

export const DEMO_SITE_NAMES = [
  'www.contoso.com',
  'shop.contoso.com',
  'expired.contoso.com',
  'www.fabrikam.com',
];

/** Write the demo sites of one simulated host (its `simulated.stateDir`), bound to `port`. */
export async function writeDemoSites(simulatedStateDir: string, port: number): Promise<void> {
  const https = (host: string) => ({ bindingInformation: `*:${port}:${host}`, sslFlags: 3 });
  await writeSimulatedSites(inetsrvConfigDir(simulatedStateDir), [
    {
      name: 'Contoso',
      bindings: [
        { protocol: 'http', bindingInformation: `*:80:www.contoso.com`, sslFlags: 0 },
        https('www.contoso.com'),
        https('shop.contoso.com'),
        https('expired.contoso.com'),
      ],
    },
    { name: 'Fabrikam', bindings: [https('www.fabrikam.com')] },
  ]);
}
