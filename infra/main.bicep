// ================================================================================================
// Central Certificate Store fleet management: the whole Azure deployment.
// Subscription scope: creates the resource group, then every resource through the modules in
// app/. Deploy with `azd up`, or `az deployment sub create` (docs/deploy.md). No registry
// modules: everything here compiles offline.
// ================================================================================================
targetScope = 'subscription'

import { networkRulesType, storageNetworkAcls, vaultNetworkAcls } from 'app/network-rules.bicep'

// ------------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------------

@description('An IIS Administration `files.locations` entry: a share or folder the API may point CCS at.')
type allowedLocation = {
  @minLength(1)
  @description('Required. A UNC or local path, e.g. \\\\fileserver\\ccs.')
  path: string

  @description('Optional. Claims on the path; CCS needs "read". Default: ["read"].')
  claims: ('read' | 'write')[]?
}

@description('An API key, stored as the SHA-256 of its token (never the token).')
type apiKey = {
  @minLength(1)
  @description('Required. A name for the key (shown in logs, never the token).')
  name: string

  @description('Required. "read" (GET) or "write" (every method).')
  role: 'read' | 'write'

  @minLength(64)
  @maxLength(64)
  @description('Required. Lowercase hex SHA-256 of the token.')
  sha256: string
}

@description('The agents of one ccs-id: an Entra group that gets that ccs-id\'s queues and secrets only (app/fleet-rbac.bicep).')
type fleet = {
  @minLength(1)
  @maxLength(32)
  @description('Required. The ccs-id (lowercase letters, digits, single inner hyphens).')
  ccsId: string

  @minLength(36)
  @maxLength(36)
  @description('Required. Object id of the Entra group holding that fleet\'s agent identities.')
  agentGroupId: string
}

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Required. Name of the environment (azd: AZURE_ENV_NAME). Seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
@description('Required. Azure region of every resource; it must offer the Flex Consumption plan.')
param location string

@description('Optional. Name of the resource group to create. Default: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Optional. Object id of the agents\' principal: an Entra group holding every agent\'s identity (recommended), or one identity shared by the fleet. Empty: no agent role assignments (add them later by re-deploying).')
param agentPrincipalId string = ''

@allowed([
  'Group'
  'ServicePrincipal'
])
@description('Optional. Kind of agentPrincipalId. Default: Group.')
param agentPrincipalType string = 'Group'

@description('Optional. One Entra group per ccs-id: each gets its own ccs-id\'s command queues and secrets only (least privilege, docs/deploy.md). Default: none.')
param fleets fleet[] = []

@description('Optional. Where Storage and Key Vault accept requests from (IP ranges, subnets). Default: empty, every network (access by Entra ID only).')
param networkRules networkRulesType = {}

@description('Optional. CCS_ALLOWED_LOCATIONS: where CCS may point. Default: none, so every path is refused (403) until set.')
param allowedLocations allowedLocation[] = []

@description('Optional. CCS_API_KEYS: API keys as SHA-256 hashes. Default: none.')
param apiKeys apiKey[] = []

@description('Optional. CCS_ENTRA_AUDIENCE: the application id URI (or client id) bearer tokens must be issued for. Empty: Entra ID tokens are not accepted.')
param entraAudience string = ''

@description('Optional. CCS_ENTRA_TENANT_ID: the tenant that issues the tokens. Default: this deployment\'s tenant when entraAudience is set.')
param entraTenantId string = ''

@description('Optional. CCS_ENTRA_ISSUER override (sovereign clouds). Default: derived from the tenant by the API.')
param entraIssuer string = ''

@description('Optional. CCS_ENTRA_JWKS_URL override (sovereign clouds). Default: derived from the tenant by the API.')
param entraJwksUrl string = ''

@minValue(1)
@maxValue(3600)
@description('Optional. CCS_PREFLIGHT_TIMEOUT_SECONDS: how long a change waits for hosts to preflight. Default: 60.')
param preflightTimeoutSeconds int = 60

@minValue(1)
@maxValue(86400)
@description('Optional. CCS_OPERATION_TIMEOUT_SECONDS: how long an operation may run in total. Default: 900.')
param operationTimeoutSeconds int = 900

@minValue(1)
@maxValue(86400)
@description('Optional. CCS_INVENTORY_INTERVAL_SECONDS: how often the elected host of each ccs-id scans the share. Default: 300.')
param inventoryIntervalSeconds int = 300

@minValue(0)
@maxValue(3650)
@description('Optional. CCS_CERTIFICATE_EXPIRY_WARNING_DAYS: days before expiry from which a certificate is reported as expiring. Default: 30.')
param certificateExpiryWarningDays int = 30

@minLength(1)
@maxLength(32)
@description('Optional. CCS_DEFAULT_ID: the ccs-id that IIS Administration API clients address when they send none (the `central_certificates` link of GET /api/webserver, and GET/POST /api/webserver/centralized-certificates): 1-32 lowercase letters, digits or single inner hyphens. Default: default.')
param defaultCcsId string = 'default'

@description('Optional. CCS_SHARE_IDENTITIES: allowed share identities per ccs-id ("*" for the rest), e.g. {"fleet-a": ["CONTOSO\\\\ccs-a"]}. Default: {} (any identity).')
param shareIdentities object = {}

@minValue(1)
@maxValue(1000)
@description('Optional. CCS_IDENTITY_CHANGES_PER_HOUR: identity changes accepted per ccs-id in a sliding hour. Default: 10.')
param identityChangesPerHour int = 10

@description('Optional. CCS_CONSOLE_CLIENT_ID: the client id of the app registration the operator console signs in with through Entra ID (a single-page application whose redirect URI is https://<function app>/api/console/). Default: the client id listed in entraAudience.')
param consoleClientId string = ''

@minValue(40)
@maxValue(1000)
@description('Optional. Most Flex Consumption instances the API may scale out to. Default: 40.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Optional. Memory per Function App instance in MB. Default: 2048.')
param instanceMemoryMB int = 2048

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
@description('Optional. Storage account replication. Default: Standard_LRS.')
param storageSkuName string = 'Standard_LRS'

@minValue(7)
@maxValue(90)
@description('Optional. Key Vault soft-delete retention in days (fixed once the vault exists). Default: 90.')
param keyVaultSoftDeleteRetentionInDays int = 90

@minValue(30)
@maxValue(730)
@description('Optional. Log Analytics retention in days. Default: 30.')
param logRetentionInDays int = 30

@description('Optional. Email address for the expiry and coverage alerts (issue 13); empty: the alerts show in the portal only.')
param alertEmailAddress string = ''

@description('Optional. Extra tags for every resource.')
param tags object = {}

@description('Optional. Subscribe the certificateNewVersion function to Key Vault certificate events (after the first code deployment).')
param subscribeCertificateEvents bool = false

// ------------------------------------------------------------------------------------------------
// Names
// ------------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var allTags = union(tags, { 'azd-env-name': environmentName })
var functionAppName = '${abbrs.webSitesFunctions}ccs-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

// Names the code also knows (shared/names.ts): REPORTS_QUEUE, and the prefix of commandQueueName.
var reportsQueueName = 'ccs-reports'
var commandQueuePrefix = 'h-'

// Entra ID settings go together (shared/config.ts refuses one without the other).
var effectiveEntraTenantId = empty(entraAudience) ? '' : (empty(entraTenantId) ? tenant().tenantId : entraTenantId)

// ------------------------------------------------------------------------------------------------
// Resources
// ------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? '${abbrs.resourcesResourceGroups}${environmentName}' : resourceGroupName
  location: location
  tags: allTags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}ccs-api-${resourceToken}'
    location: location
    tags: allTags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: applicationInsightsName
    location: location
    tags: allTags
    retentionInDays: logRetentionInDays
  }
}

// Expiry and coverage alerts on the API's telemetry (infra/app/alerts.bicep).
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  // A name known at compile time (for What-If), so the component is waited for by hand.
  dependsOn: [
    monitoring
  ]
  params: {
    applicationInsightsName: applicationInsightsName
    location: location
    namePrefix: 'alert-ccs-${resourceToken}'
    alertEmailAddress: alertEmailAddress
    tags: allTags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: allTags
    skuName: storageSkuName
    reportsQueueName: reportsQueueName
    deploymentContainerName: deploymentContainerName
    networkAcls: storageNetworkAcls(networkRules)
  }
}

// The key that signs commands to agents (COMMAND_SIGNING_KEY in shared/signing.ts).
var commandSigningKeyName = 'ccs-command-signing'

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    commandSigningKeyName: commandSigningKeyName
    location: location
    tags: allTags
    workspaceId: monitoring.outputs.workspaceId
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    networkAcls: vaultNetworkAcls(networkRules)
  }
}

// Names known at compile time are passed as such (not as module outputs), so What-If can
// predict the resources; dependsOn keeps the order the outputs would have given. The app comes
// after its role assignments: its first deployment uploads the package to blob storage as the
// app's identity (Blob Data Owner), and the host starts reading queues and tables at once.
module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [
    storage // monitoring comes first anyway: keyVault (whose uri api takes) waits for it
    rbac
  ]
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: allTags
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storageAccountName
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    allowedLocationsJson: string(allowedLocations)
    apiKeysJson: string(apiKeys)
    entraTenantId: effectiveEntraTenantId
    entraAudience: entraAudience
    entraIssuer: entraIssuer
    entraJwksUrl: entraJwksUrl
    preflightTimeoutSeconds: preflightTimeoutSeconds
    operationTimeoutSeconds: operationTimeoutSeconds
    inventoryIntervalSeconds: inventoryIntervalSeconds
    certificateExpiryWarningDays: certificateExpiryWarningDays
    defaultCcsId: defaultCcsId
    shareIdentitiesJson: string(shareIdentities)
    identityChangesPerHour: identityChangesPerHour
    consoleClientId: consoleClientId
    // Per-ccs-id agent groups read only sources named ccs-<ccs-id>--… (fleet-rbac.bicep); the API holds sources to that.
    agentAccess: empty(fleets) ? 'fleet-wide' : 'per-ccs-id'
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  dependsOn: [
    storage
    keyVault
    monitoring
  ]
  params: {
    storageAccountName: storageAccountName
    reportsQueueName: reportsQueueName
    keyVaultName: keyVaultName
    commandSigningKeyName: commandSigningKeyName
    applicationInsightsName: applicationInsightsName
    // Known only once the identity exists; role assignment names need it (guid(scope, principal,
    // role)), which costs What-If precision on these assignments and nothing else.
    #disable-next-line what-if-short-circuiting
    apiPrincipalId: identity.outputs.principalId
    agentPrincipalId: agentPrincipalId
    agentPrincipalType: agentPrincipalType
    commandQueuePrefix: commandQueuePrefix
  }
}

module storageDiagnostics 'app/storage-diagnostics.bicep' = {
  name: 'storage-diagnostics'
  scope: rg
  dependsOn: [storage]
  params: { storageAccountName: storageAccountName, workspaceId: monitoring.outputs.workspaceId }
}

module fleetRbac 'app/fleet-rbac.bicep' = [
  for fleet in fleets: {
    name: 'fleet-rbac-${fleet.ccsId}'
    scope: rg
    dependsOn: [storage, keyVault]
    params: {
      ccsId: fleet.ccsId
      principalId: fleet.agentGroupId
      storageAccountName: storageAccountName
      reportsQueueName: reportsQueueName
      commandQueuePrefix: commandQueuePrefix
      keyVaultName: keyVaultName
      commandSigningKeyName: commandSigningKeyName
    }
  }
]

module certificateEvents 'app/certificate-events.bicep' = {
  name: 'certificate-events'
  scope: rg
  dependsOn: [
    keyVault
    api
  ]
  params: {
    keyVaultName: keyVaultName
    functionAppName: functionAppName
    location: location
    tags: allTags
    subscribe: subscribeCertificateEvents
    #disable-next-line what-if-short-circuiting
    apiPrincipalId: identity.outputs.principalId
  }
}

// ------------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env; the agent installer and README read them)
// ------------------------------------------------------------------------------------------------

@description('Azure region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the deployment (agents authenticate here).')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Name of the Function App.')
output AZURE_FUNCTION_APP_NAME string = api.outputs.name

@description('Name of the storage account.')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Name of the Key Vault.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Base URL of the API, e.g. https://func-ccs-xxx.azurewebsites.net/api.')
output CCS_API_URL string = 'https://${api.outputs.defaultHostName}/api'

@description('Queue endpoint the agents poll and report to.')
output CCS_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint

@description('Name of the reports queue.')
output CCS_REPORTS_QUEUE string = storage.outputs.reportsQueueName

@description('Key Vault URL the agents fetch secret versions from.')
output CCS_KEY_VAULT_URL string = keyVault.outputs.uri
