/**
 * The Azure deployment (infra/), checked offline: `bicep build` and `bicep lint` must pass with no
 * warning, and the compiled ARM JSON must have the security properties the design promises, the
 * least-privilege role set, and exactly the app settings that shared/config.ts reads.
 *
 * The Bicep CLI comes from `scripts/install-tools.sh` (.tools/bicep/bicep), BICEP_CLI or PATH.
 * Without it the suite is skipped with a notice, unless CCS_REQUIRE_BICEP is set (CI), which
 * turns the absence into a failure.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { APP_SETTINGS, parseConfig } from '../../shared/config.js';
import { REPORTS_QUEUE, commandQueueName, poisonQueueName, secretName } from '../../shared/names.js';
import { COMMAND_SIGNING_KEY } from '../../shared/signing.js';
import { EXPIRING_EVENT, UNCOVERED_EVENT } from '../../shared/services/coverage-telemetry.js';
import { timerRoutes } from '../../functions/index.js';
import { findTool, toolRequired } from '../support/tools.js';
import { likePattern, parseCondition, type AbacRequest } from '../../local/keyvault/abac.js';
import { ownSecretsCondition } from '../../local/keyvault/fleet-roles.js';
import { agentsCanRead, sourceNamePrefix } from '../../shared/publishing/source-access.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'infra', 'main.bicep');

/** The least a configuration needs to parse (to check a value Bicep sets as the API would). */
const MINIMAL_CONFIG = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  CCS_KEY_VAULT_URL: 'https://kv.vault.azure.net',
  CCS_ALLOWED_LOCATIONS: '[]',
};

/** Settings the code reads only when running locally; setting them in Azure would be wrong. */
const LOCAL_ONLY = [
  'AzureWebJobsStorage', // a connection string (Azurite); Azure uses the identity-based __ settings
  'CCS_KEY_VAULT_CA_FILE', // the local Key Vault endpoint's self-signed CA
  'CCS_KEY_VAULT_LOCAL_TOKEN', // the local Key Vault endpoint's static bearer token
];

/** Settings the Functions host or telemetry needs in Azure although the code never reads them. */
const HOST_ONLY = [
  'AzureWebJobsStorage__blobServiceUri', // the host keeps keys and locks in blobs
  'APPLICATIONINSIGHTS_CONNECTION_STRING', // where telemetry goes (an address: local auth is off)
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', // Entra ID ingestion with the app's identity
  'OTEL_SERVICE_NAME', // the service name on OpenTelemetry spans
];

const ROLE = {
  queueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  tableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  blobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  secretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  metricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  queueMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed',
  queueMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  secretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  cryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424',
  keyVaultReader: '21090545-7ca7-4776-b22c-e363652d74d2',
};

// Data actions the conditions guard (Azure built-in role definitions).
const QUEUE_READ = 'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read';
const QUEUE_PROCESS = 'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action';
const QUEUE_ADD = 'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action';
const SECRET_GET = 'Microsoft.KeyVault/vaults/secrets/getSecret/action';
const SECRET_METADATA = 'Microsoft.KeyVault/vaults/secrets/readMetadata/action';

interface Param {
  type: string;
  defaultValue?: unknown;
  metadata?: { description?: string };
}
interface Template {
  parameters?: Record<string, Param>;
  variables?: Record<string, unknown>;
  resources: Record<string, Resource> | Resource[];
  outputs?: Record<string, { value: unknown }>;
}
interface Resource {
  type: string;
  name: string;
  scope?: string;
  condition?: unknown;
  properties?: Record<string, unknown>;
}
/** A template and where it sits: the deployment resource that passes its parameters. */
interface Node {
  name: string;
  template: Template;
  parent?: Node;
  deployment?: Resource;
}
interface Found {
  node: Node;
  resource: Resource;
}

async function run(cli: string, args: string[]): Promise<{ code: number; output: string; stdout: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cli, args, { cwd: ROOT, maxBuffer: 64 << 20 });
    return { code: 0, output: `${stdout}${stderr}`, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`, stdout: e.stdout ?? '' };
  }
}

/** Reads a dotted path (`properties.siteConfig.minTlsVersion`) out of parsed JSON. */
function get(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], value);
}

function walk(node: Node): Found[] {
  const resources = Object.entries(node.template.resources);
  return resources.flatMap(([key, resource]) => {
    const own = { node, resource };
    const inner = get(resource, 'properties.template') as Template | undefined;
    if (resource.type !== 'Microsoft.Resources/deployments' || !inner) return [own];
    return [own, ...walk({ name: key, template: inner, parent: node, deployment: resource })];
  });
}

/** Resolves the compile-time value of `[parameters('x')]` / `[variables('x')]` through modules. */
function resolve(node: Node | undefined, value: unknown): unknown {
  if (!node || typeof value !== 'string' || !value.startsWith('[')) return value;
  const param = /^\[parameters\('(\w+)'\)\]$/.exec(value)?.[1];
  if (param) {
    const passed = get(node.deployment, `properties.parameters.${param}.value`);
    if (passed !== undefined) return resolve(node.parent, passed);
    return node.template.parameters?.[param]?.defaultValue;
  }
  const variable = /^\[variables\('(\w+)'\)\]$/.exec(value)?.[1];
  if (variable) return resolve(node, node.template.variables?.[variable]);
  return undefined; // only known at deployment time
}

/** The ABAC condition of a role assignment: `replace(variables('text'), 'placeholder', prefix)`. */
function conditionOf({ node, resource }: Found): { text: string; prefix: string } {
  expect(get(resource, 'properties.conditionVersion')).toBe('2.0');
  const [, text, placeholder, prefixParam] =
    /^\[replace\(variables\('(\w+)'\), '([^']+)', parameters\('(\w+)'\)\)\]$/.exec(
      String(get(resource, 'properties.condition')),
    ) ?? [];
  const prefix = String(resolve(node, `[parameters('${prefixParam}')]`));
  return { text: String(node.template.variables?.[text!]).replaceAll(placeholder!, prefix), prefix };
}

const unwrap = (expression: unknown): string => String(expression).replace(/^\[(.*)\]$/s, '$1');

const cli = findTool('bicep', 'BICEP_CLI', 'bicep/bicep');
const required = toolRequired('CCS_REQUIRE_BICEP');
if (!cli && !required)
  console.warn('Bicep CLI not found: infra tests skipped (run scripts/install-tools.sh)');

(cli || required ? describe : describe.skip)('infra (Bicep)', () => {
  let root: Node;
  let all: Found[];
  let lint: { code: number; output: string };
  let buildOutput: string;

  const ofType = (type: string): Found[] => all.filter((f) => f.resource.type === type);
  const one = (type: string): Found => {
    const found = ofType(type);
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };
  const appSettings = (): { name: string; value: unknown }[] =>
    get(one('Microsoft.Web/sites').resource, 'properties.siteConfig.appSettings') as {
      name: string;
      value: unknown;
    }[];

  beforeAll(async () => {
    if (!cli)
      throw new Error('Bicep CLI not found and CCS_REQUIRE_BICEP is set: run scripts/install-tools.sh');
    const [build, linted] = await Promise.all([
      run(cli, ['build', MAIN, '--stdout']),
      run(cli, ['lint', MAIN]),
    ]);
    if (build.code !== 0) throw new Error(`bicep build failed:\n${build.output}`);
    buildOutput = build.output.slice(build.stdout.length); // what it printed besides the template
    lint = linted;
    root = { name: 'main', template: JSON.parse(build.stdout) as Template };
    all = walk(root);
  });

  it('compiles and lints with no warning or error', () => {
    expect(buildOutput).not.toMatch(/\b(Warning|Error)\b/);
    expect(lint.output).not.toMatch(/\b(Warning|Error)\b/);
    expect(lint.code).toBe(0);
  });

  it('uses no registry module, so the build works offline', () => {
    const sources = [
      MAIN,
      ...readdirSync(join(ROOT, 'infra', 'app')).map((f) => join(ROOT, 'infra', 'app', f)),
    ];
    for (const file of sources.filter((f) => f.endsWith('.bicep'))) {
      expect(readFileSync(file, 'utf8'), file).not.toMatch(/['"](br|ts)[:/]/);
    }
  });

  it('runs the API on Flex Consumption with Node.js 22 as a user-assigned identity', () => {
    const plan = one('Microsoft.Web/serverfarms').resource as Resource & {
      sku?: { name?: string; tier?: string };
    };
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const site = one('Microsoft.Web/sites').resource;
    expect(get(site, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '22' });
    expect(get(site, 'identity.type')).toBe('UserAssigned');
    expect(get(site, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe(
      'UserAssignedIdentity',
    );
  });

  it('serves HTTPS only, TLS 1.2 or later, with basic publishing credentials off and no ftpsState', () => {
    const site = one('Microsoft.Web/sites').resource;
    expect(get(site, 'properties.httpsOnly')).toBe(true);
    expect(get(site, 'properties.siteConfig.minTlsVersion')).toBe('1.2');
    expect(get(site, 'properties.siteConfig.scmMinTlsVersion')).toBe('1.2');
    // Flex Consumption has no FTP endpoint and newer Flex stamps refuse the property (ARM 51021).
    expect(get(site, 'properties.siteConfig')).not.toHaveProperty('ftpsState');
    expect(JSON.stringify(root.template)).not.toContain('ftpsState');
    const policies = ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => get(p.resource, 'properties.allow'))).toEqual([false, false]);
  });

  it('locks the storage account to Entra ID, TLS 1.2, no public blobs, with blob soft delete', () => {
    const account = one('Microsoft.Storage/storageAccounts').resource;
    expect(get(account, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(get(account, 'properties.allowBlobPublicAccess')).toBe(false);
    expect(get(account, 'properties.minimumTlsVersion')).toBe('TLS1_2');
    expect(get(account, 'properties.supportsHttpsTrafficOnly')).toBe(true);
    const blob = one('Microsoft.Storage/storageAccounts/blobServices').resource;
    expect(get(blob, 'properties.deleteRetentionPolicy.enabled')).toBe(true);
    expect(get(blob, 'properties.containerDeleteRetentionPolicy.enabled')).toBe(true);
  });

  it('creates the reports queue under the name the code uses', () => {
    const { node, resource } = one('Microsoft.Storage/storageAccounts/queueServices/queues');
    const queueParam = /parameters\('(\w+)'\)\)\]$/.exec(resource.name)?.[1];
    expect(resolve(node, `[parameters('${queueParam}')]`)).toBe(REPORTS_QUEUE);
  });

  it('keeps Key Vault on RBAC with soft delete, purge protection and an audit log to the workspace', () => {
    const vault = one('Microsoft.KeyVault/vaults').resource;
    expect(get(vault, 'properties.enableRbacAuthorization')).toBe(true);
    expect(get(vault, 'properties.enableSoftDelete')).toBe(true);
    expect(get(vault, 'properties.enablePurgeProtection')).toBe(true);
    const vaultDiagnostics = ofType('Microsoft.Insights/diagnosticSettings').filter((f) =>
      String(f.resource.scope).includes('Microsoft.KeyVault/vaults'),
    );
    expect(vaultDiagnostics).toHaveLength(1);
    const diag = vaultDiagnostics[0]!;
    expect(get(diag.resource, 'properties.logs')).toContainEqual({ categoryGroup: 'audit', enabled: true });
    const passed = get(diag.node.deployment, 'properties.parameters.workspaceId.value');
    expect(get(diag.resource, 'properties.workspaceId')).toBe("[parameters('workspaceId')]");
    expect(passed).toBe("[reference('monitoring').outputs.workspaceId.value]");
    const monitoring = all.find((f) => f.node.name === 'monitoring')!.node.template;
    expect(String(get(monitoring, 'outputs.workspaceId.value'))).toContain(
      'Microsoft.OperationalInsights/workspaces',
    );
    expect(get(one('Microsoft.Insights/components').resource, 'properties.DisableLocalAuth')).toBe(true);
    const workspace = one('Microsoft.OperationalInsights/workspaces').resource;
    expect(get(workspace, 'properties.features.disableLocalAuth')).toBe(true);
  });

  it('deploys the app after its role assignments, so its first package upload is authorized', () => {
    const modules = root.template.resources as Record<string, Resource & { dependsOn?: string[] }>;
    expect(modules.api?.dependsOn).toEqual(expect.arrayContaining(['rbac', 'storage']));
  });

  it('creates the command-signing key the code signs with: EC P-256, sign and verify, not exportable; only the API may sign', () => {
    const { node, resource } = one('Microsoft.KeyVault/vaults/keys');
    expect(String(resource.name)).toContain("parameters('commandSigningKeyName')");
    expect(resolve(node, "[parameters('commandSigningKeyName')]")).toBe(COMMAND_SIGNING_KEY);
    expect(get(resource, 'properties.kty')).toBe('EC');
    expect(get(resource, 'properties.curveName')).toBe('P-256');
    expect(get(resource, 'properties.keyOps')).toEqual(['sign', 'verify']);
    expect(get(resource, 'properties.attributes.exportable')).toBe(false);
    // Every role assignment on the key names this key; the API's grants sign, the agents' (the
    // fleet-wide group's and each fleet's, fleet-rbac.bicep) do not.
    const onKey = ofType('Microsoft.Authorization/roleAssignments').filter((f) =>
      String(f.resource.scope).includes('Microsoft.KeyVault/vaults/keys'),
    );
    expect(onKey).toHaveLength(3);
    for (const { node: rbacNode, resource: assignment } of onKey) {
      expect(String(assignment.scope)).toContain("parameters('commandSigningKeyName')");
      expect(resolve(rbacNode, "[parameters('commandSigningKeyName')]")).toBe(COMMAND_SIGNING_KEY);
    }
  });

  it('names every role assignment guid(scope, principal, role)', () => {
    const assignments = ofType('Microsoft.Authorization/roleAssignments');
    expect(assignments.length).toBeGreaterThan(0);
    for (const { resource } of assignments) {
      const role = /subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (.+)\)\]$/.exec(
        String(get(resource, 'properties.roleDefinitionId')),
      )?.[1];
      const principal = unwrap(get(resource, 'properties.principalId'));
      expect(resource.name).toBe(`[guid(${unwrap(resource.scope)}, ${principal}, ${role})]`);
    }
  });

  it('grants each principal exactly its least-privilege roles', () => {
    // Each fleet's own group (fleet-rbac.bicep) is checked in 'least privilege per ccs-id' below.
    const fleetWide = ofType('Microsoft.Authorization/roleAssignments').filter(
      (f) => f.node.name !== 'fleetRbac',
    );
    const granted = fleetWide.map(({ node, resource }) => {
      const key = /variables\('roles'\)\.(\w+)/.exec(
        String(get(resource, 'properties.roleDefinitionId')),
      )?.[1];
      const roleId = (node.template.variables?.roles as Record<string, string>)[key!];
      const who = /parameters\('(api|agent)PrincipalId'\)/.exec(
        String(get(resource, 'properties.principalId')),
      )?.[1];
      const scope = /resourceId\('([^']+)'/.exec(String(resource.scope))?.[1];
      return `${who} ${roleId} ${scope}`;
    });
    expect(granted.sort()).toEqual(
      [
        `api ${ROLE.queueDataContributor} Microsoft.Storage/storageAccounts`,
        `api ${ROLE.tableDataContributor} Microsoft.Storage/storageAccounts`,
        `api ${ROLE.blobDataOwner} Microsoft.Storage/storageAccounts`,
        `api ${ROLE.secretsOfficer} Microsoft.KeyVault/vaults`,
        // The publishing sources: certificate metadata (infra/app/certificate-events.bicep).
        `api ${ROLE.keyVaultReader} Microsoft.KeyVault/vaults`,
        `api ${ROLE.cryptoUser} Microsoft.KeyVault/vaults/keys`,
        `api ${ROLE.metricsPublisher} Microsoft.Insights/components`,
        `agent ${ROLE.queueMessageProcessor} Microsoft.Storage/storageAccounts`,
        `agent ${ROLE.queueMessageSender} Microsoft.Storage/storageAccounts/queueServices/queues`,
        `agent ${ROLE.queueMessageSender} Microsoft.Storage/storageAccounts`,
        `agent ${ROLE.secretsUser} Microsoft.KeyVault/vaults`,
        `agent ${ROLE.keyVaultReader} Microsoft.KeyVault/vaults/keys`,
      ].sort(),
    );
  });

  it('lets agents receive only from command queues and send only to reports and poison queues', () => {
    const agents = ofType('Microsoft.Authorization/roleAssignments').filter((f) =>
      String(get(f.resource, 'properties.principalId')).includes('agentPrincipalId'),
    );
    for (const { resource } of agents) expect(resource.condition).toBe("[variables('hasAgents')]");
    const role = (name: string, scope: string): Found =>
      agents.find(
        (f) =>
          String(get(f.resource, 'properties.roleDefinitionId')).includes(name) &&
          /resourceId\('([^']+)'/.exec(String(f.resource.scope))?.[1] === scope,
      )!;
    const account = 'Microsoft.Storage/storageAccounts';

    const reports = role('Sender', `${account}/queueServices/queues`);
    expect(get(reports.resource, 'properties.condition')).toBeUndefined();
    const queueParam = /'default', parameters\('(\w+)'\)\)\]$/.exec(String(reports.resource.scope))?.[1];
    expect(resolve(reports.node, `[parameters('${queueParam}')]`)).toBe(REPORTS_QUEUE);

    const command = commandQueueName('fleet-a', 'web01.contoso.com');
    const processor = conditionOf(role('Processor', account));
    expect(processor.text).toContain("queues/messages/read'");
    expect(processor.text).toContain("queues/messages/process/action'");
    const startsWith = /queues:name\] StringStartsWith '([^']+)'/.exec(processor.text)?.[1];
    expect(startsWith).toBe(processor.prefix);
    expect(command.startsWith(startsWith!)).toBe(true);
    expect(REPORTS_QUEUE.startsWith(startsWith!)).toBe(false);
    expect(poisonQueueName(REPORTS_QUEUE).startsWith(startsWith!)).toBe(false);

    const poison = conditionOf(role('Sender', account));
    expect(poison.text).toContain("queues/messages/add/action'");
    const like = /queues:name\] StringLike '([^']+)'/.exec(poison.text)?.[1];
    const pattern = likePattern(like!);
    const matches = (name: string): boolean => pattern.test(name);
    expect(matches(poisonQueueName(command))).toBe(true);
    expect(matches(command)).toBe(false);
    expect(matches(commandQueueName('x-poison', 'web01'))).toBe(false);
    expect(matches(REPORTS_QUEUE) || matches(poisonQueueName(REPORTS_QUEUE))).toBe(false);
  });

  it('gives the Function App every setting the code reads, and nothing the code does not know', () => {
    const names = appSettings().map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const needed = APP_SETTINGS.filter((s) => !LOCAL_ONLY.includes(s));
    expect(
      needed.filter((s) => !names.includes(s)),
      'settings the code reads but Azure lacks',
    ).toEqual([]);
    const known = [...needed, ...HOST_ONLY];
    expect(
      names.filter((s) => !known.includes(s)),
      'settings neither the code nor the host reads',
    ).toEqual([]);
    for (const local of LOCAL_ONLY) expect(APP_SETTINGS as string[]).toContain(local);
  });

  it('connects to storage and Key Vault by identity and puts no secret in any app setting', () => {
    const settings = new Map(appSettings().map((s) => [s.name, s.value]));
    expect(settings.get('AzureWebJobsStorage__credential')).toBe('managedidentity');
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe("[parameters('identityClientId')]");
    expect(settings.get('AZURE_CLIENT_ID')).toBe("[parameters('identityClientId')]");
    for (const [name, value] of settings) {
      expect(String(value), name).not.toMatch(
        /AccountKey=|SharedAccessSignature|[?&]sig=|Password=|@Microsoft\.KeyVault|list\w*\(/i,
      );
    }
    const compiled = JSON.stringify(root.template);
    expect(compiled).not.toMatch(/\blist(Keys|AccountSas|ServiceSas|Secrets|ConnectionStrings)\(/);
  });

  it('describes every parameter as Required. or Optional., matching whether it has a default', () => {
    const templates = [root.template, ...all.map((f) => get(f.resource, 'properties.template') as Template)];
    for (const template of templates.filter(Boolean)) {
      for (const [name, param] of Object.entries(template.parameters ?? {})) {
        const description = param.metadata?.description ?? '';
        const expected = param.defaultValue === undefined ? 'Required.' : 'Optional.';
        expect(description.startsWith(expected), `${name}: ${description}`).toBe(true);
      }
    }
  });

  it('maps every required parameter in main.parameters.json and outputs what agents need', () => {
    const file = JSON.parse(readFileSync(join(ROOT, 'infra', 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: unknown }>;
    };
    const params = root.template.parameters ?? {};
    for (const name of Object.keys(file.parameters)) expect(Object.keys(params)).toContain(name);
    for (const [name, param] of Object.entries(params)) {
      if (param.defaultValue === undefined) expect(Object.keys(file.parameters)).toContain(name);
    }
    expect(file.parameters.environmentName?.value).toBe('${AZURE_ENV_NAME}');
    expect(Object.keys(root.template.outputs ?? {})).toEqual(
      expect.arrayContaining(['CCS_API_URL', 'CCS_QUEUE_ENDPOINT', 'CCS_KEY_VAULT_URL', 'CCS_REPORTS_QUEUE']),
    );
    expect(existsSync(join(ROOT, 'azure.yaml'))).toBe(true);
    expect(readFileSync(join(ROOT, 'azure.yaml'), 'utf8')).toMatch(/host:\s*function/);
  });
  describe('least privilege per ccs-id (issue 17, app/fleet-rbac.bicep)', () => {
    // The data actions of the built-in roles the fleet module assigns (Azure built-in roles).
    const DATA_ACTIONS: Record<string, string[]> = {
      [ROLE.queueMessageProcessor]: [QUEUE_READ, QUEUE_PROCESS],
      [ROLE.queueMessageSender]: [QUEUE_ADD],
      [ROLE.secretsUser]: [SECRET_GET, SECRET_METADATA],
      [ROLE.keyVaultReader]: [],
    };
    const fleetAssignments = (): Found[] =>
      ofType('Microsoft.Authorization/roleAssignments').filter((f) => f.node.name === 'fleetRbac');
    const roleIdOf = ({ node, resource }: Found): string => {
      const key = /variables\('roles'\)\.(\w+)/.exec(
        String(get(resource, 'properties.roleDefinitionId')),
      )?.[1];
      return (node.template.variables?.roles as Record<string, string>)[key!]!;
    };
    /** The condition of one fleet assignment with that fleet's ccs-id filled in. */
    const conditionFor = (found: Found, ccsId: string): ((r: AbacRequest) => boolean) => {
      const raw = get(found.resource, 'properties.condition') as string | undefined;
      if (raw === undefined) return () => true;
      expect(get(found.resource, 'properties.conditionVersion')).toBe('2.0');
      const [, text, placeholder, value] =
        /^\[replace\(variables\('(\w+)'\), '([^']+)', (.+)\)\]$/.exec(raw) ?? [];
      const prefix = String(resolve(found.node, "[parameters('commandQueuePrefix')]"));
      const fill: Record<string, string> = {
        "parameters('ccsId')": ccsId,
        "format('{0}{1}-', parameters('commandQueuePrefix'), parameters('ccsId'))": `${prefix}${ccsId}-`,
      };
      expect(Object.keys(fill), raw).toContain(value);
      const condition = String(found.node.template.variables?.[text!]).replaceAll(
        placeholder!,
        fill[value!]!,
      );
      return parseCondition(condition);
    };
    /** May the group of fleet `ccsId` do `action` on the object `name` under any of its assignments? */
    const fleetMay = (ccsId: string, action: string, name: string, scope: string): boolean =>
      fleetAssignments().some(
        (f) =>
          /resourceId\('([^']+)'/.exec(String(f.resource.scope))?.[1] === scope &&
          (DATA_ACTIONS[roleIdOf(f)] ?? []).includes(action) &&
          conditionFor(f, ccsId)({ action, name }),
      );
    const account = 'Microsoft.Storage/storageAccounts';
    const vaultType = 'Microsoft.KeyVault/vaults';

    it('deploys the fleet module once per listed fleet, and none by default', () => {
      const modules = root.template.resources as Record<string, Resource & { copy?: { count?: string } }>;
      expect(modules.fleetRbac?.copy?.count).toBe("[length(parameters('fleets'))]");
      expect(root.template.parameters?.fleets?.defaultValue).toEqual([]);
      const passed = get(modules.fleetRbac, 'properties.parameters') as Record<string, { value: string }>;
      expect(passed.ccsId?.value).toBe("[parameters('fleets')[copyIndex()].ccsId]");
      expect(passed.principalId?.value).toBe("[parameters('fleets')[copyIndex()].agentGroupId]");
      expect(fleetAssignments().map(roleIdOf).sort()).toEqual(
        [
          ROLE.queueMessageProcessor,
          ROLE.queueMessageSender,
          ROLE.queueMessageSender,
          ROLE.secretsUser,
          ROLE.keyVaultReader,
        ].sort(),
      );
      for (const f of fleetAssignments()) {
        expect(get(f.resource, 'properties.principalId')).toBe("[parameters('principalId')]");
      }
    });

    it("lets a fleet's group receive only from its own command queues, even when its ccs-id prefixes another", () => {
      const own = commandQueueName('fleet-a', 'web01.contoso.com');
      const longer = commandQueueName('fleet-a-b', 'web01.contoso.com');
      const other = commandQueueName('fleet-b', 'web01.contoso.com');
      expect(fleetMay('fleet-a', QUEUE_READ, own, account)).toBe(true);
      expect(fleetMay('fleet-a', QUEUE_PROCESS, own, account)).toBe(true);
      for (const name of [
        longer,
        other,
        poisonQueueName(own),
        REPORTS_QUEUE,
        poisonQueueName(REPORTS_QUEUE),
      ]) {
        expect(fleetMay('fleet-a', QUEUE_READ, name, account), name).toBe(false);
        expect(fleetMay('fleet-a', QUEUE_PROCESS, name, account), name).toBe(false);
      }
      // …and fleet-a-b's group is kept out of fleet-a's queues the same way.
      expect(fleetMay('fleet-a-b', QUEUE_READ, longer, account)).toBe(true);
      expect(fleetMay('fleet-a-b', QUEUE_READ, own, account)).toBe(false);
    });

    it("lets a fleet's group send only to its own poison queues and to the reports queue", () => {
      const own = commandQueueName('fleet-a', 'web01.contoso.com');
      const longer = commandQueueName('fleet-a-b', 'web01.contoso.com');
      expect(fleetMay('fleet-a', QUEUE_ADD, poisonQueueName(own), account)).toBe(true);
      for (const name of [own, longer, poisonQueueName(longer), commandQueueName('fleet-b', 'web01')]) {
        expect(fleetMay('fleet-a', QUEUE_ADD, name, account), name).toBe(false);
      }
      const reports = `${account}/queueServices/queues`;
      const toReports = fleetAssignments().find(
        (f) => /resourceId\('([^']+)'/.exec(String(f.resource.scope))?.[1] === reports,
      )!;
      const queueParam = /'default', parameters\('(\w+)'\)\)\]$/.exec(String(toReports.resource.scope))?.[1];
      expect(resolve(toReports.node, `[parameters('${queueParam}')]`)).toBe(REPORTS_QUEUE);
      expect(fleetMay('fleet-a', QUEUE_ADD, REPORTS_QUEUE, reports)).toBe(true);
    });

    it("lets a fleet's group read only its own two secrets (ABAC on secret names), and never sign", () => {
      for (const kind of ['identity-password', 'private-key-password'] as const) {
        expect(fleetMay('fleet-a', SECRET_GET, secretName('fleet-a', kind), vaultType)).toBe(true);
        expect(fleetMay('fleet-a', SECRET_METADATA, secretName('fleet-a', kind), vaultType)).toBe(true);
        expect(fleetMay('fleet-a', SECRET_GET, secretName('fleet-a-b', kind), vaultType)).toBe(false);
        expect(fleetMay('fleet-a', SECRET_GET, secretName('fleet-b', kind), vaultType)).toBe(false);
        expect(fleetMay('fleet-a', SECRET_METADATA, secretName('fleet-b', kind), vaultType)).toBe(false);
      }
      expect(fleetMay('fleet-a', SECRET_GET, 'ccs-fleet-a-anything-else', vaultType)).toBe(false);
      const onKey = fleetAssignments().filter((f) => String(f.resource.scope).includes(`${vaultType}/keys`));
      expect(onKey.map(roleIdOf)).toEqual([ROLE.keyVaultReader]);
    });

    it("lets a fleet's group read its sources' certificate secrets (named ccs-<ccs-id>--…) and no other fleet's", () => {
      for (const action of [SECRET_GET, SECRET_METADATA]) {
        expect(fleetMay('fleet-a', action, `${sourceNamePrefix('fleet-a')}www-contoso`, vaultType)).toBe(
          true,
        );
        for (const name of [
          `${sourceNamePrefix('fleet-a-b')}www-contoso`, // a ccs-id prefixing another: whole prefix
          `${sourceNamePrefix('fleet-b')}www-contoso`,
          'www-contoso', // a certificate outside the rule
          'CCS-fleet-a--www-contoso', // conditions compare case-sensitively
          'ccs-fleet-a-www-contoso',
        ]) {
          expect(fleetMay('fleet-a', action, name, vaultType), name).toBe(false);
        }
      }
      // The API holds the sources of a per-ccs-id deployment to the same rule.
      expect(agentsCanRead('per-ccs-id', 'fleet-a', `${sourceNamePrefix('fleet-a')}www-contoso`)).toBe(true);
      expect(agentsCanRead('per-ccs-id', 'fleet-a', `${sourceNamePrefix('fleet-a-b')}www-contoso`)).toBe(
        false,
      );
    });

    it('tells the API its agents are per-ccs-id groups when fleets are listed (CCS_AGENT_ACCESS)', () => {
      const setting = appSettings().find((s) => s.name === 'CCS_AGENT_ACCESS');
      expect(setting?.value).toBe("[parameters('agentAccess')]");
      const modules = root.template.resources as Record<string, Resource>;
      // Bicep compiles the module parameter into one expression choosing between the two values.
      const passed = get(modules.api, 'properties.parameters') as Record<string, unknown>;
      expect(passed.agentAccess).toBe(
        "[if(empty(parameters('fleets')), createObject('value', 'fleet-wide'), createObject('value', 'per-ccs-id'))]",
      );
      expect(parseConfig({ ...MINIMAL_CONFIG, CCS_AGENT_ACCESS: 'per-ccs-id' }).CCS_AGENT_ACCESS).toBe(
        'per-ccs-id',
      );
    });

    it("gives the local vault's fleet role (npm start) the very condition Azure gets", () => {
      const onVault = fleetAssignments().find(
        (f) => /resourceId\('([^']+)'/.exec(String(f.resource.scope))?.[1] === vaultType,
      )!;
      const [, text, placeholder] =
        /^\[replace\(variables\('(\w+)'\), '([^']+)', parameters\('ccsId'\)\)\]$/.exec(
          String(get(onVault.resource, 'properties.condition')),
        ) ?? [];
      const compiled = String(onVault.node.template.variables?.[text!]).replaceAll(placeholder!, 'fleet-a');
      const squash = (condition: string) => condition.replace(/\s+/g, ' ').trim();
      expect(squash(ownSecretsCondition('fleet-a'))).toBe(squash(compiled));
    });

    it('reads the conditions it checks: an unknown operator or a stray token fails', () => {
      expect(() => parseCondition("@Resource[x:name] StringMatches 'a'")).toThrow(/operator/);
      expect(() => parseCondition("(@Resource[x:name] StringEquals 'a'")).toThrow();
      expect(
        parseCondition("@Resource[x:name] StringNotLike 'h-a-*-*'")({ action: 'x', name: 'h-a-b-c' }),
      ).toBe(false);
    });
  });

  describe('storage diagnostic settings and network rules (issue 17)', () => {
    it('sends queue and table reads, writes and deletes to the Log Analytics workspace', () => {
      const storageDiagnostics = ofType('Microsoft.Insights/diagnosticSettings').filter(
        (f) => f.node.name === 'storageDiagnostics',
      );
      const scopes = storageDiagnostics.map(
        (f) => /resourceId\('([^']+)'/.exec(String(f.resource.scope))?.[1],
      );
      expect(scopes.sort()).toEqual([
        'Microsoft.Storage/storageAccounts/queueServices',
        'Microsoft.Storage/storageAccounts/tableServices',
      ]);
      for (const { node, resource } of storageDiagnostics) {
        const logs = get(resource, 'properties.logs');
        const resolved = typeof logs === 'string' ? resolve(node, logs) : logs;
        expect(resolved).toEqual(
          ['StorageRead', 'StorageWrite', 'StorageDelete'].map((category) => ({ category, enabled: true })),
        );
        expect(get(resource, 'properties.workspaceId')).toBe("[parameters('workspaceId')]");
        expect(get(node.deployment, 'properties.parameters.workspaceId.value')).toBe(
          "[reference('monitoring').outputs.workspaceId.value]",
        );
      }
    });

    it('takes network rules for Storage and Key Vault from one parameter, open by default', () => {
      expect(root.template.parameters?.networkRules?.defaultValue).toEqual({});
      const storage = one('Microsoft.Storage/storageAccounts');
      const vault = one('Microsoft.KeyVault/vaults');
      expect(get(storage.resource, 'properties.networkAcls')).toBe("[parameters('networkAcls')]");
      expect(get(vault.resource, 'properties.networkAcls')).toBe("[parameters('networkAcls')]");
      expect(get(storage.node.deployment, 'properties.parameters.networkAcls.value')).toBe(
        "[__bicep.storageNetworkAcls(parameters('networkRules'))]",
      );
      expect(get(vault.node.deployment, 'properties.parameters.networkAcls.value')).toBe(
        "[__bicep.vaultNetworkAcls(parameters('networkRules'))]",
      );
      // The functions: Allow with nothing listed, else Deny with the addresses and subnets, and
      // trusted Azure services bypass either way.
      const functions = JSON.stringify(get(root.template, 'functions'));
      for (const name of ['storageNetworkAcls', 'vaultNetworkAcls']) expect(functions).toContain(name);
      expect(functions).toMatch(/'Allow'.*'Deny'|'Deny'.*'Allow'/s);
      expect(functions).toContain('ipRules');
      expect(functions).toContain('virtualNetworkRules');
      expect(functions).toContain('AzureServices');
    });
  });

  describe('the default ccs-id (IIS Administration clients)', () => {
    it('sets CCS_DEFAULT_ID from main.bicep, `default` unless azd says otherwise, a value the API accepts', () => {
      const site = one('Microsoft.Web/sites');
      const setting = appSettings().find((s) => s.name === 'CCS_DEFAULT_ID');
      expect(setting?.value).toBe("[parameters('defaultCcsId')]");
      const value = resolve(site.node, setting?.value);
      expect(value).toBe('default');
      expect(parseConfig({ ...MINIMAL_CONFIG, CCS_DEFAULT_ID: String(value) }).CCS_DEFAULT_ID).toBe(
        'default',
      );
      const param = root.template.parameters?.defaultCcsId as Param & {
        minLength?: number;
        maxLength?: number;
      };
      expect([param.minLength, param.maxLength]).toEqual([1, 32]);
      const file = JSON.parse(readFileSync(join(ROOT, 'infra', 'main.parameters.json'), 'utf8')) as {
        parameters: Record<string, { value: unknown }>;
      };
      expect(file.parameters.defaultCcsId?.value).toBe('${CCS_DEFAULT_ID=default}');
    });
  });
});

(cli || required ? describe : describe.skip)('infra (Bicep): expiry and coverage alerts (issue 13)', () => {
  let alerts: Node;
  let resources: Resource[];
  const ofType = (type: string) => resources.filter((r) => r.type === type);

  beforeAll(async () => {
    if (!cli) throw new Error('Bicep CLI not found and CCS_REQUIRE_BICEP is set');
    const build = await run(cli, ['build', MAIN, '--stdout']);
    if (build.code !== 0) throw new Error(`bicep build failed:\n${build.output}`);
    const found = walk({ name: 'main', template: JSON.parse(build.stdout) as Template }).find(
      (f) => f.resource.type === 'Microsoft.Resources/deployments' && f.resource.name === 'alerts',
    );
    expect(found, 'the alerts module in main.bicep').toBeDefined();
    const template = get(found!.resource, 'properties.template') as Template;
    alerts = { name: 'alerts', template, parent: found!.node, deployment: found!.resource };
    resources = Object.values(template.resources);
  });

  it('passes the Application Insights component and the alert email address from main.bicep', () => {
    const params = get(alerts.deployment, 'properties.parameters') as Record<string, { value: unknown }>;
    expect(params.applicationInsightsName?.value).toBe("[variables('applicationInsightsName')]");
    expect(params.alertEmailAddress?.value).toBe("[parameters('alertEmailAddress')]");
    expect(alerts.parent?.template.parameters?.alertEmailAddress?.defaultValue).toBe('');
  });

  it('creates an action group that mails the address given (only when one is given)', () => {
    const [group] = ofType('Microsoft.Insights/actionGroups');
    expect(group?.condition).toBe("[not(empty(parameters('alertEmailAddress')))]");
    expect(get(group, 'properties.emailReceivers')).toEqual([
      expect.objectContaining({ emailAddress: "[parameters('alertEmailAddress')]" }),
    ]);
  });

  it('has one log alert rule per telemetry event, on the component, split by ccs-id and host name', () => {
    const [rule] = ofType('Microsoft.Insights/scheduledQueryRules');
    expect(rule).toMatchObject({ kind: 'LogAlert' });
    expect(get(rule, 'properties.scopes')).toEqual([
      "[resourceId('Microsoft.Insights/components', parameters('applicationInsightsName'))]",
    ]);
    const vars = alerts.template.variables as { eventsQuery: string; rules: { event: string }[] };
    expect(vars.rules.map((r) => r.event)).toEqual([EXPIRING_EVENT, UNCOVERED_EVENT]);
    expect(get(rule, 'properties.criteria.allOf.0.query')).toBe(
      "[format(variables('eventsQuery'), variables('rules')[copyIndex()].event)]",
    );
    // The query reads the JSON line the API's logger writes: msg, ccsId, hostName, daysLeft.
    for (const field of ['event.msg', 'event.ccsId', 'event.hostName', 'event.daysLeft']) {
      expect(vars.eventsQuery).toContain(field);
    }
    expect(vars.eventsQuery).toMatch(/^traces \|/);
    const criterion = get(rule, 'properties.criteria.allOf.0') as Record<string, unknown>;
    expect(criterion).toMatchObject({ timeAggregation: 'Count', operator: 'GreaterThan', threshold: 0 });
    expect((criterion.dimensions as { name: string }[]).map((d) => d.name)).toEqual(['ccsId', 'hostName']);
    expect(get(rule, 'properties.autoMitigate')).toBe(true);
  });

  it('looks back further than the timer that emits the events runs', () => {
    const [rule] = ofType('Microsoft.Insights/scheduledQueryRules');
    const timer = timerRoutes.find((t) => t.name === 'emitCoverageTelemetry');
    expect(timer?.schedule).toBe('0 */15 * * * *');
    expect(get(rule, 'properties.evaluationFrequency')).toBe('PT15M');
    expect(get(rule, 'properties.windowSize')).toBe('PT1H');
  });
});

describe.skipIf(!cli)('infra (Bicep): Key Vault certificate events (issue 14)', () => {
  it('subscribes the certificateNewVersion function to CertificateNewVersionCreated only, when asked', async () => {
    const { stdout } = await promisify(execFile)(
      cli!,
      ['build', join(ROOT, 'infra', 'app', 'certificate-events.bicep'), '--stdout'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const compiled = JSON.parse(stdout) as Template;
    const resources: Resource[] = Object.values(compiled.resources);
    const subscription = resources.find(
      (r) => r.type === 'Microsoft.EventGrid/systemTopics/eventSubscriptions',
    );
    expect(subscription?.condition).toBe("[parameters('subscribe')]");
    const body = JSON.stringify(subscription?.properties);
    expect(body).toContain('"includedEventTypes":["Microsoft.KeyVault.CertificateNewVersionCreated"]');
    expect(body).toContain('/functions/certificateNewVersion');
    const topic = resources.find((r) => r.type === 'Microsoft.EventGrid/systemTopics');
    expect(topic?.properties).toMatchObject({ topicType: 'Microsoft.KeyVault.vaults' });
  });
});
