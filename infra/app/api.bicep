// ================================================================================================
// The Function App: Flex Consumption (FC1), Node.js 22, running as the user-assigned identity.
// Every connection is identity-based; no app setting holds a secret. The settings below are
// exactly what shared/config.ts reads (APP_SETTINGS) plus what the Functions host itself needs;
// test/infra/bicep.test.ts checks that parity.
// ================================================================================================

@description('Required. Name of the Function App (also its default host name).')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Required. Azure region of the plan and the app.')
param location string

@description('Optional. Tags for the plan and the app (the app also gets azd-service-name).')
param tags object = {}

@description('Required. Resource id of the user-assigned managed identity the app runs as.')
param identityId string

@description('Required. Client id of that identity.')
param identityClientId string

@description('Required. Name of the storage account (queues, tables, deployment package).')
param storageAccountName string

@description('Required. Name of the blob container the app is deployed from.')
param deploymentContainerName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Key Vault URI (CCS_KEY_VAULT_URL).')
param keyVaultUri string

@description('Required. CCS_ALLOWED_LOCATIONS: a JSON array of { path, claims }.')
param allowedLocationsJson string

@description('Required. CCS_API_KEYS: a JSON array of { name, role, sha256 } (hashes, never tokens).')
param apiKeysJson string

@description('Optional. CCS_ENTRA_TENANT_ID; empty turns Entra ID bearer tokens off.')
param entraTenantId string = ''

@description('Optional. CCS_ENTRA_AUDIENCE; set together with the tenant.')
param entraAudience string = ''

@description('Optional. CCS_ENTRA_ISSUER override (sovereign clouds).')
param entraIssuer string = ''

@description('Optional. CCS_ENTRA_JWKS_URL override (sovereign clouds).')
param entraJwksUrl string = ''

@minValue(1)
@maxValue(3600)
@description('Optional. CCS_PREFLIGHT_TIMEOUT_SECONDS.')
param preflightTimeoutSeconds int = 60

@minValue(1)
@maxValue(86400)
@description('Optional. CCS_OPERATION_TIMEOUT_SECONDS.')
param operationTimeoutSeconds int = 900

@minValue(1)
@maxValue(86400)
@description('Optional. CCS_INVENTORY_INTERVAL_SECONDS.')
param inventoryIntervalSeconds int = 300

@minValue(0)
@maxValue(3650)
@description('Optional. CCS_CERTIFICATE_EXPIRY_WARNING_DAYS.')
param certificateExpiryWarningDays int = 30

@minLength(1)
@maxLength(32)
@description('Optional. CCS_DEFAULT_ID: the ccs-id IIS Administration clients address without an id.')
param defaultCcsId string = 'default'

// Identity abuse limits (issue 17, shared/services/identity-policy.ts).
@description('Optional. CCS_SHARE_IDENTITIES: allowed share identities per ccs-id, as JSON. Default: {} (any).')
param shareIdentitiesJson string = '{}'

@minValue(1)
@maxValue(1000)
@description('Optional. CCS_IDENTITY_CHANGES_PER_HOUR: identity changes per ccs-id per sliding hour. Default: 10.')
param identityChangesPerHour int = 10

@description('Optional. CCS_CONSOLE_CLIENT_ID: the app registration the console signs in with.')
param consoleClientId string = ''

@allowed([
  'fleet-wide'
  'per-ccs-id'
])
@description('Optional. CCS_AGENT_ACCESS: per-ccs-id when agents have a group per ccs-id (sources must then be named ccs-<ccs-id>--…). Default: fleet-wide.')
param agentAccess string = 'fleet-wide'

@minValue(40)
@maxValue(1000)
@description('Optional. Upper bound of Flex Consumption instances (caps cost under load).')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Optional. Memory of each instance in MB.')
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      // No ftpsState: Flex Consumption sites have no FTP endpoint, and newer Flex stamps reject the
      // property (ARM error 51021); Microsoft's Flex samples set none. FTP and SCM basic-auth
      // publishing are off below, so nothing could log in over FTP anyway.
      http20Enabled: true
      appSettings: [
        // --- Functions host and shared/config.ts: storage, by identity (no connection string) ---
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storage.properties.primaryEndpoints.table
        }
        {
          // The host keeps its keys and locks in blobs; the code itself never reads this one.
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storage.properties.primaryEndpoints.blob
        }
        // --- shared/config.ts ---
        {
          // DefaultAzureCredential picks the user-assigned identity by this client id.
          name: 'AZURE_CLIENT_ID'
          value: identityClientId
        }
        {
          name: 'CCS_KEY_VAULT_URL'
          value: keyVaultUri
        }
        {
          name: 'CCS_ALLOWED_LOCATIONS'
          value: allowedLocationsJson
        }
        {
          name: 'CCS_API_KEYS'
          value: apiKeysJson
        }
        {
          name: 'CCS_ENTRA_TENANT_ID'
          value: entraTenantId
        }
        {
          name: 'CCS_ENTRA_AUDIENCE'
          value: entraAudience
        }
        {
          name: 'CCS_ENTRA_ISSUER'
          value: entraIssuer
        }
        {
          name: 'CCS_ENTRA_JWKS_URL'
          value: entraJwksUrl
        }
        {
          name: 'CCS_PREFLIGHT_TIMEOUT_SECONDS'
          value: string(preflightTimeoutSeconds)
        }
        {
          name: 'CCS_OPERATION_TIMEOUT_SECONDS'
          value: string(operationTimeoutSeconds)
        }
        {
          name: 'CCS_INVENTORY_INTERVAL_SECONDS'
          value: string(inventoryIntervalSeconds)
        }
        {
          name: 'CCS_CERTIFICATE_EXPIRY_WARNING_DAYS'
          value: string(certificateExpiryWarningDays)
        }
        {
          name: 'CCS_DEFAULT_ID'
          value: defaultCcsId
        }
        {
          name: 'CCS_SHARE_IDENTITIES'
          value: shareIdentitiesJson
        }
        {
          name: 'CCS_IDENTITY_CHANGES_PER_HOUR'
          value: string(identityChangesPerHour)
        }
        {
          name: 'CCS_CONSOLE_CLIENT_ID'
          value: consoleClientId
        }
        {
          name: 'CCS_AGENT_ACCESS'
          value: agentAccess
        }
        // --- Telemetry: Application Insights with Entra ID ingestion, OpenTelemetry naming ---
        {
          // An address, not a credential: the component refuses key-only ingestion.
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        {
          name: 'OTEL_SERVICE_NAME'
          value: 'ccs-api'
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// No basic (user/password) publishing credentials: deployments authenticate with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

@description('Name of the Function App.')
output name string = site.name

@description('Default host name of the Function App.')
output defaultHostName string = site.properties.defaultHostName
