// Publishing Key Vault certificates to the shares (docs/certificates.md, "Publishing"):
// - the API reads certificate metadata (Key Vault Reader: names, versions, tags, policies; never
//   a secret's value — the elected agent reads the PFX with its own Key Vault Secrets User role);
// - Key Vault's CertificateNewVersionCreated events go to the `certificateNewVersion` function
//   through an Event Grid system topic on the vault, so a renewal is published within a minute.
//   The inventory-interval poll is the fallback for missed deliveries.
//
// Event Grid checks that the destination function exists when the subscription is created, so
// the subscription is made only with `subscribe` true: after the first code deployment
// (`azd deploy`), run `azd provision` again with CCS_SUBSCRIBE_CERTIFICATE_EVENTS=true.

@description('Required. Name of the Key Vault holding the certificates.')
param keyVaultName string

@description('Required. Name of the Function App.')
param functionAppName string

@description('Required. Principal ID of the API identity.')
param apiPrincipalId string

@description('Required. Region of the system topic (the vault\'s).')
param location string

@description('Optional. Tags for the system topic.')
param tags object = {}

@description('Optional. Create the Event Grid subscription (the function must already be deployed).')
param subscribe bool = false

var roles = {
  keyVaultReader: '21090545-7ca7-4776-b22c-e363652d74d2' // Key Vault Reader
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource apiCertificateReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, apiPrincipalId, roles.keyVaultReader)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: '${keyVaultName}-events'
  location: location
  tags: tags
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource newVersions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (subscribe) {
  parent: topic
  name: 'certificate-new-version'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${site.id}/functions/certificateNewVersion'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.KeyVault.CertificateNewVersionCreated'
      ]
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = topic.name
