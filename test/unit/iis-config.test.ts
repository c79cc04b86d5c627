import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IisBindingsReader } from '../../agent/bindings/config-reader.js';
import { PowerShellBackend } from '../../agent/backends/powershell.js';
import { ConfigError, loadAgentConfig } from '../../agent/config.js';
import {
  IisConfigError,
  parseBindingInformation,
  parseCcsBindings,
  parseRedirection,
} from '../../agent/bindings/iis-config.js';
import {
  applicationHostXml,
  writeSimulatedRedirection,
  writeSimulatedSites,
} from '../../agent/backends/simulated-iis/sites-file.js';

/** An applicationHost.config as IIS writes one, with what surrounds the sites. */
const REAL_LOOKING = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>
<!-- IIS configuration sections. -->
<configuration>
    <configSections>
        <sectionGroup name="system.applicationHost">
            <section name="sites" allowDefinition="AppHostOnly" overrideModeDefault="Deny" />
        </sectionGroup>
    </configSections>
    <system.applicationHost>
        <applicationPools>
            <add name="DefaultAppPool" />
        </applicationPools>
        <sites>
            <site name="Default Web Site" id="1">
                <application path="/">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="*:80:" />
                    <binding protocol="https" bindingInformation="*:443:" sslFlags="0" />
                </bindings>
            </site>
            <site name="Contoso &amp; Co" id="2">
                <bindings>
                    <binding protocol="HTTPS" bindingInformation="*:443:www.contoso.com" sslFlags="3" />
                    <binding protocol="https" bindingInformation="10.0.0.5:8443:shop.contoso.com" sslFlags="2" />
                    <binding protocol="https" bindingInformation="[2001:db8::5]:443:v6.contoso.com" sslFlags="67" />
                    <binding protocol="https" bindingInformation="*:443:sni-only.contoso.com" sslFlags="1" />
                    <binding protocol="https" bindingInformation="*:443:http2-off.contoso.com" sslFlags="6" />
                    <binding protocol="https" bindingInformation=":443:" sslFlags="2" />
                    <binding protocol="https" bindingInformation="*:0:bad-port.contoso.com" sslFlags="3" />
                    <binding protocol="https" bindingInformation="garbage" sslFlags="3" />
                    <binding protocol="net.tcp" bindingInformation="808:*" />
                </bindings>
            </site>
            <site name="Only one" id="3">
                <bindings>
                    <binding protocol="https" bindingInformation="*:443:bücher.example" sslFlags="3" />
                </bindings>
            </site>
            <siteDefaults>
                <bindings>
                    <binding protocol="https" bindingInformation="*:443:template" sslFlags="3" />
                </bindings>
            </siteDefaults>
        </sites>
    </system.applicationHost>
    <location path="Contoso &amp; Co">
        <system.webServer />
    </location>
</configuration>
`;

describe('parseBindingInformation', () => {
  it.each([
    ['*:443:www.contoso.com', { ip: '*', port: 443, host: 'www.contoso.com' }],
    [':443:', { ip: '*', port: 443, host: '' }],
    ['10.0.0.5:8443:', { ip: '10.0.0.5', port: 8443, host: '' }],
    ['[::1]:443:www.contoso.com', { ip: '::1', port: 443, host: 'www.contoso.com' }],
    ['[2001:db8::5]:65535:x', { ip: '2001:db8::5', port: 65535, host: 'x' }],
  ])('%s', (value, expected) => {
    expect(parseBindingInformation(value)).toEqual(expected);
  });

  it.each(['', 'garbage', '*:443', '*:0:x', '*:65536:x', '*:44a:x', '[::1:443:x', '[::1]443:x', '*:443:a:b'])(
    'refuses %j',
    (value) => {
      expect(parseBindingInformation(value)).toBeNull();
    },
  );
});

describe('parseCcsBindings', () => {
  it('lists the https bindings with sslFlags bit 2, with the SNI bit, sorted', () => {
    expect(parseCcsBindings(REAL_LOOKING)).toEqual([
      { site: 'Contoso & Co', hostName: '', port: 443, ip: '*', sni: false },
      { site: 'Contoso & Co', hostName: 'http2-off.contoso.com', port: 443, ip: '*', sni: false },
      { site: 'Contoso & Co', hostName: 'shop.contoso.com', port: 8443, ip: '10.0.0.5', sni: false },
      { site: 'Contoso & Co', hostName: 'v6.contoso.com', port: 443, ip: '2001:db8::5', sni: true },
      { site: 'Contoso & Co', hostName: 'www.contoso.com', port: 443, ip: '*', sni: true },
      { site: 'Only one', hostName: 'bücher.example', port: 443, ip: '*', sni: true },
    ]);
  });

  it('is empty without sites', () => {
    expect(parseCcsBindings('<configuration><system.applicationHost /></configuration>')).toEqual([]);
    expect(parseCcsBindings('<configuration/>')).toEqual([]);
  });

  it('refuses XML that is not well-formed, naming the file and the line', () => {
    const broken = '<configuration>\n<system.applicationHost>\n<sites>\n<site name="x">\n</sites>';
    expect(() => parseCcsBindings(broken, 'C:\\cfg\\applicationHost.config')).toThrow(IisConfigError);
    expect(() => parseCcsBindings(broken, 'C:\\cfg\\applicationHost.config')).toThrow(
      /C:\\cfg\\applicationHost\.config: not well-formed XML at line \d/,
    );
  });

  it('reads back what the simulated sites writer wrote, escaping included', () => {
    const xml = applicationHostXml([
      { name: 'A "quoted" <site>', bindings: [{ bindingInformation: '*:443:www.contoso.com' }] },
    ]);
    expect(parseCcsBindings(xml)).toEqual([
      { site: 'A "quoted" <site>', hostName: 'www.contoso.com', port: 443, ip: '*', sni: true },
    ]);
  });

  it('lists thousands of bindings', () => {
    const bindings = Array.from({ length: 5000 }, (_, i) => ({
      bindingInformation: `*:443:site${i}.contoso.com`,
    }));
    const parsed = parseCcsBindings(applicationHostXml([{ name: 'Big', bindings }]));
    expect(parsed).toHaveLength(5000);
    expect(new Set(parsed.map((b) => b.hostName)).size).toBe(5000);
  });
});

describe('parseRedirection', () => {
  const file = (attributes: string) =>
    `<configuration><configurationRedirection ${attributes} /></configuration>`;

  it('is the path when enabled (case-insensitive true)', () => {
    expect(parseRedirection(file('enabled="True" path="\\\\files\\config"'))).toBe('\\\\files\\config');
  });

  it('is null when disabled, absent or not "true"', () => {
    expect(parseRedirection(file('enabled="false" path="\\\\files\\config"'))).toBeNull();
    expect(parseRedirection(file('path="\\\\files\\config"'))).toBeNull();
    expect(parseRedirection('<configuration />')).toBeNull();
    expect(parseRedirection(file('enabled="sometimes" path="x"'))).toBeNull();
  });

  it('refuses an enabled redirection without a path', () => {
    expect(() => parseRedirection(file('enabled="true"'))).toThrow(/without a path/);
  });
});

describe('IisBindingsReader', () => {
  let root: string;
  let configDir: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'iis-config-'));
    configDir = join(root, 'inetsrv', 'config');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('is empty when IIS is not installed (no applicationHost.config)', async () => {
    expect(await new IisBindingsReader({ configDir }).read()).toEqual([]);
  });

  it('parses again only when the file changed (timestamp or size)', async () => {
    await writeSimulatedSites(configDir, [
      { name: 'A', bindings: [{ bindingInformation: '*:443:a.contoso.com' }] },
    ]);
    const reader = new IisBindingsReader({ configDir });
    const file = join(configDir, 'applicationHost.config');
    const written = new Date('2026-01-01T00:00:00Z');
    await utimes(file, written, written);
    expect((await reader.read()).map((b) => b.hostName)).toEqual(['a.contoso.com']);

    // Same size and timestamp, different content: the reader does not even open it.
    await writeFile(file, (await readFile(file, 'utf8')).replace('a.contoso.com', 'b.contoso.com'));
    await utimes(file, written, written);
    expect((await reader.read()).map((b) => b.hostName)).toEqual(['a.contoso.com']);

    // A new timestamp: read again.
    const later = new Date('2026-01-01T00:00:05Z');
    await utimes(file, later, later);
    expect((await reader.read()).map((b) => b.hostName)).toEqual(['b.contoso.com']);
  });

  it('follows shared configuration: redirection.config enabled → the redirected applicationHost.config', async () => {
    const shared = join(root, 'shares', 'config');
    await writeSimulatedSites(configDir, [
      { name: 'Local', bindings: [{ bindingInformation: '*:443:local.contoso.com' }] },
    ]);
    await writeSimulatedSites(shared, [
      { name: 'Shared', bindings: [{ bindingInformation: '*:443:farm.contoso.com' }] },
    ]);
    await writeSimulatedRedirection(configDir, '\\\\files\\config');
    const reader = new IisBindingsReader({
      configDir,
      locateFolder: (path) => Promise.resolve(path === '\\\\files\\config' ? shared : null),
    });
    expect((await reader.read()).map((b) => `${b.site}/${b.hostName}`)).toEqual(['Shared/farm.contoso.com']);

    await writeSimulatedRedirection(configDir, null);
    expect((await reader.read()).map((b) => `${b.site}/${b.hostName}`)).toEqual(['Local/local.contoso.com']);
  });

  it('expands %VAR% in the redirection path', async () => {
    const shared = join(root, 'shared-config');
    await writeSimulatedSites(shared, [
      { name: 'S', bindings: [{ bindingInformation: '*:443:s.contoso.com' }] },
    ]);
    await writeSimulatedRedirection(configDir, '%ConfigRoot%\\iis');
    const reader = new IisBindingsReader({
      configDir,
      environment: { ConfigRoot: 'D:\\farm' },
      locateFolder: (path) => Promise.resolve(path === 'D:\\farm\\iis' ? shared : null),
    });
    expect((await reader.read()).map((b) => b.hostName)).toEqual(['s.contoso.com']);
  });

  it('a shared configuration it cannot reach, or without applicationHost.config, is an error', async () => {
    await writeSimulatedRedirection(configDir, '\\\\offline\\config');
    await expect(
      new IisBindingsReader({ configDir, locateFolder: () => Promise.resolve(null) }).read(),
    ).rejects.toThrow(/\\\\offline\\config: the shared configuration folder cannot be reached/);
    const empty = join(root, 'empty');
    await mkdir(empty);
    await expect(
      new IisBindingsReader({ configDir, locateFolder: () => Promise.resolve(empty) }).read(),
    ).rejects.toThrow(/the shared configuration has no such file/);
  });

  it('a broken redirection.config is an error naming it', async () => {
    await mkdir(configDir, { recursive: true });
    await writeFile(join(configDir, 'redirection.config'), '<configuration><configurationRedirection');
    await expect(new IisBindingsReader({ configDir }).read()).rejects.toThrow(
      /redirection\.config: not well-formed/,
    );
  });
});

describe('the powershell backend reads bindings without PowerShell', () => {
  it("parses IIS's configuration folder in node and starts no process", async () => {
    const root = await mkdtemp(join(tmpdir(), 'ps-bindings-'));
    try {
      const configDir = join(root, 'System32', 'inetsrv', 'config');
      await writeSimulatedSites(configDir, [
        { name: 'Contoso', bindings: [{ bindingInformation: '*:443:www.contoso.com' }] },
      ]);
      const spawned: string[] = [];
      const backend = new PowerShellBackend({
        executable: 'pwsh',
        platform: 'linux',
        inetsrvConfigDir: configDir,
        onSpawn: (child) => spawned.push(child.script),
      });
      expect(await backend.readBindings()).toEqual([
        { site: 'Contoso', hostName: 'www.contoso.com', port: 443, ip: '*', sni: true },
      ]);
      expect(spawned).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('servingCheckTimeoutSeconds', () => {
  const base = {
    ccsId: 'farm-a',
    hostName: 'web01',
    storage: { connectionString: 'UseDevelopmentStorage=true' },
    keyVault: { url: 'https://127.0.0.1:8443' },
    backend: 'simulated',
    simulated: { stateDir: '/tmp/sim', shareRoot: '/tmp/shares' },
  };

  it('defaults to 5 s and is set from the environment', async () => {
    const root = await mkdtemp(join(tmpdir(), 'serving-config-'));
    try {
      const file = join(root, 'agent.json');
      await writeFile(file, JSON.stringify(base));
      expect(loadAgentConfig({ file, env: {} }).servingCheckTimeoutSeconds).toBe(5);
      expect(
        loadAgentConfig({ file, env: { CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS: '2.5' } })
          .servingCheckTimeoutSeconds,
      ).toBe(2.5);
      expect(() => loadAgentConfig({ file, env: { CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS: '0' } })).toThrow(
        ConfigError,
      );
      expect(() => loadAgentConfig({ file, env: { CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS: '0' } })).toThrow(
        /servingCheckTimeoutSeconds.*CCS_AGENT_SERVING_CHECK_TIMEOUT_SECONDS/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
