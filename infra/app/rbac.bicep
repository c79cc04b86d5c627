// ================================================================================================
// Role assignments, least privilege. Names are guid(scope, principal, role), so a re-deployment
// finds the same assignment instead of failing on a duplicate. Data-plane roles only: neither
// principal gets any management right (no keys, no account or vault settings).
//   API:    queues + tables (data contributor), blobs (host + deployment package), secrets
//           (officer), sign with the command-signing key (crypto user on that key only),
//           telemetry (metrics publisher).
//   Agents: receive/delete on command queues, send to the reports queue and to command queues'
//           poison queues, read secrets, read the command-signing key's public part (reader on
//           that key only: no sign). Never send to a command queue, never touch tables.
// What a compromised agent can and cannot do with these roles: docs/deploy.md.
// ================================================================================================

@description('Required. Name of the storage account.')
param storageAccountName string

@description('Required. Name of the reports queue (agents send reports to it).')
param reportsQueueName string

@description('Required. Name of the Key Vault.')
param keyVaultName string

@description('Required. Name of the key that signs commands (keyvault.bicep).')
param commandSigningKeyName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Principal (object) id of the API\'s user-assigned identity.')
param apiPrincipalId string

@description('Optional. Object id of the agents\' principal (an Entra group or one identity). Empty: no agent roles.')
param agentPrincipalId string = ''

@allowed([
  'Group'
  'ServicePrincipal'
])
@description('Optional. Kind of the agents\' principal.')
param agentPrincipalType string = 'Group'

@description('Required. Name prefix of the per-host command queues (commandQueueName in shared/names.ts).')
param commandQueuePrefix string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed' // Storage Queue Data Message Processor
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' // Storage Queue Data Message Sender
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  keyVaultCryptoUser: '12338af0-0e69-4776-bea7-57ae8d297424' // Key Vault Crypto User
  keyVaultReader: '21090545-7ca7-4776-b22c-e363652d74d2' // Key Vault Reader
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
}

var hasAgents = !empty(agentPrincipalId)

// ABAC conditions (role assignment conditions on queue names) narrow the agents' two
// account-wide queue assignments. Command queues are `<prefix><ccs-id>-<hash>`, their poison
// queues `<that>-poison`; no command queue name ends in -poison (it ends in the hash).
// 1. Peek/receive/delete only on queues that start with the command-queue prefix: an agent
//    cannot drain the reports queue (or its poison queue).
var commandQueuesOnly = '''
(
 (
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read'})
  AND
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action'})
 )
 OR
 (
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringStartsWith '#PREFIX#'
 )
)
'''
// 2. Send only to command queues' poison queues (an agent sets aside a command that failed 5
//    times): never to a command queue, so an agent cannot forge commands for any host.
var poisonQueuesOnly = '''
(
 (
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action'})
 )
 OR
 (
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringLike '#PREFIX#*-poison'
 )
)
'''

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource reportsQueue 'queues' existing = {
      name: reportsQueueName
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName

  resource commandSigningKey 'keys' existing = {
    name: commandSigningKeyName
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// ------------------------------------------------------------------------------------------------
// The API (the Function App's identity)
// ------------------------------------------------------------------------------------------------

// Create the per-host command queues at run time, send commands, and read the reports queue
// (the queue trigger). Account scope: the per-host queues do not exist at deployment time.
resource apiQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Desired state, hosts, operations and inventory tables (created on first use).
resource apiTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The deployment package container and the Functions host's own containers (keys, locks),
// which the host creates itself: hence the account, not one container.
resource apiBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, apiPrincipalId, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Write new versions of the CCS passwords (POST/PATCH), read them for preflight, delete them
// on DELETE. Secrets only: no keys, no certificates, no vault settings.
resource apiSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, apiPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Sign commands to agents (Key Vault's `sign`, and `get` to find the newest version), on the
// command-signing key only: no other key, no create, no delete.
resource apiCommandSigner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::commandSigningKey.id, apiPrincipalId, roles.keyVaultCryptoUser)
  scope: vault::commandSigningKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultCryptoUser)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Entra-authenticated telemetry ingestion (the component has local auth disabled).
resource apiMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, apiPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ------------------------------------------------------------------------------------------------
// The agents (one Entra group, or one identity, for the whole fleet)
// ------------------------------------------------------------------------------------------------

// Peek, receive and delete messages on the command queues. Storage-account scope (a scope the
// role assignment docs list) because the per-host queues are created at run time; the condition
// on the queue name keeps it to the command queues.
resource agentQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasAgents) {
  name: guid(storage.id, agentPrincipalId, roles.storageQueueDataMessageProcessor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageProcessor
    )
    principalId: agentPrincipalId
    principalType: agentPrincipalType
    conditionVersion: '2.0'
    condition: replace(commandQueuesOnly, '#PREFIX#', commandQueuePrefix)
  }
}

// Set aside a poisoned command: send to `<command queue>-poison` only (condition 2 above). The
// API creates each poison queue with its command queue.
resource agentPoisonSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasAgents) {
  name: guid(storage.id, agentPrincipalId, roles.storageQueueDataMessageSender)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: agentPrincipalId
    principalType: agentPrincipalType
    conditionVersion: '2.0'
    condition: replace(poisonQueuesOnly, '#PREFIX#', commandQueuePrefix)
  }
}

// Send hello/result/drift/inventory reports: this one queue, no condition needed.
resource agentReportsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasAgents) {
  name: guid(storage::queueService::reportsQueue.id, agentPrincipalId, roles.storageQueueDataMessageSender)
  scope: storage::queueService::reportsQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: agentPrincipalId
    principalType: agentPrincipalType
  }
}

// Read the secret versions that commands reference. Vault scope: the secrets are created at
// run time (one vault per fleet narrows this; see docs/deploy.md).
resource agentSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasAgents) {
  name: guid(vault.id, agentPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: agentPrincipalId
    principalType: agentPrincipalType
  }
}

// Verify commands: the command-signing key's public part (`keys/read`), on that key only. Key
// Vault Reader grants no sign, wrap or decrypt, so no agent can sign a command.
resource agentCommandKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasAgents) {
  name: guid(vault::commandSigningKey.id, agentPrincipalId, roles.keyVaultReader)
  scope: vault::commandSigningKey
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader)
    principalId: agentPrincipalId
    principalType: agentPrincipalType
  }
}
