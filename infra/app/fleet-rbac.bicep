// ================================================================================================
// One fleet's agents (the Entra group of one ccs-id): least privilege per ccs-id (issue 17).
// main.bicep deploys this module once per entry of `fleets`. The group's members — the IIS
// servers of that ccs-id — can:
//   - peek, receive and delete on that ccs-id's command queues only,
//   - send to those queues' poison queues only, and to the shared reports queue (the API folds a
//     report only when the registered key of the host it names signed it),
//   - read that ccs-id's two secrets and the PFX of its publishing sources — the certificates
//     named `ccs-<ccs-id>--…` (ABAC condition on the secret name; a certificate's PFX is its
//     managed secret of the same name) — and nothing else,
//   - read the command-signing key's public part (no sign).
// Names follow shared/names.ts: command queue `<prefix><ccs-id>-<12 hex>` (its poison queue adds
// `-poison`), secrets `ccs-<ccs-id>-identity-password` and `ccs-<ccs-id>-private-key-password`.
// A ccs-id may be a prefix of another (`fleet-a`, `fleet-a-b`); the hash has no hyphen, so the
// `StringNotLike` clauses keep `fleet-a`'s group out of `fleet-a-b`'s queues, and the secret
// names are compared whole. Why ABAC on one vault and not one vault per ccs-id: docs/deploy.md.
// ================================================================================================

@description('Required. The ccs-id of this fleet (lowercase letters, digits, single inner hyphens).')
@minLength(1)
@maxLength(32)
param ccsId string

@description('Required. Object id of the Entra group holding this fleet\'s agent identities.')
param principalId string

@allowed([
  'Group'
  'ServicePrincipal'
])
@description('Optional. Kind of principalId. Default: Group.')
param principalType string = 'Group'

@description('Required. Name of the storage account.')
param storageAccountName string

@description('Required. Name of the reports queue (agents send reports to it).')
param reportsQueueName string

@description('Required. Name prefix of the per-host command queues (commandQueueName in shared/names.ts).')
param commandQueuePrefix string

@description('Required. Name of the Key Vault.')
param keyVaultName string

@description('Required. Name of the key that signs commands (keyvault.bicep).')
param commandSigningKeyName string

// Built-in role definition ids (the same in every tenant).
var roles = {
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed' // Storage Queue Data Message Processor
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a' // Storage Queue Data Message Sender
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  keyVaultReader: '21090545-7ca7-4776-b22c-e363652d74d2' // Key Vault Reader
}

// #QUEUES# is `<prefix><ccs-id>-`, #CCSID# the ccs-id (filled in below).
// Peek/receive/delete only on this ccs-id's command queues (not their poison queues).
var ownCommandQueues = '''
(
 (
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/read'})
  AND
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/process/action'})
 )
 OR
 (
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringStartsWith '#QUEUES#'
  AND
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringNotLike '#QUEUES#*-*'
 )
)
'''
// Send only to this ccs-id's command queues' poison queues.
var ownPoisonQueues = '''
(
 (
  !(ActionMatches{'Microsoft.Storage/storageAccounts/queueServices/queues/messages/add/action'})
 )
 OR
 (
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringLike '#QUEUES#*-poison'
  AND
  @Resource[Microsoft.Storage/storageAccounts/queueServices/queues:name] StringNotLike '#QUEUES#*-*-poison'
 )
)
'''
// Read this ccs-id's two secrets and its sources' certificate secrets only (Key Vault ABAC on
// secret names, preview: learn.microsoft.com/azure/key-vault/general/rbac-abac — secret actions,
// vault and secret name only, case-sensitive; no tags). A ccs-id has no `--`, so `ccs-a--` is no
// prefix of `a-b`'s names. Listing needs no name and is refused.
var ownSecrets = '''
(
 (
  !(ActionMatches{'Microsoft.KeyVault/vaults/secrets/getSecret/action'})
  AND
  !(ActionMatches{'Microsoft.KeyVault/vaults/secrets/readMetadata/action'})
 )
 OR
 (
  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'ccs-#CCSID#-identity-password'
  OR
  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'ccs-#CCSID#-private-key-password'
  OR
  @Resource[Microsoft.KeyVault/vaults/secrets:name] StringStartsWith 'ccs-#CCSID#--'
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

resource receiveOwnCommands 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataMessageProcessor)
  scope: storage
  properties: {
    description: 'CCS fleet ${ccsId}: receive from its own command queues'
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageProcessor
    )
    principalId: principalId
    principalType: principalType
    conditionVersion: '2.0'
    condition: replace(ownCommandQueues, '#QUEUES#', '${commandQueuePrefix}${ccsId}-')
  }
}

resource sendOwnPoison 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageQueueDataMessageSender)
  scope: storage
  properties: {
    description: 'CCS fleet ${ccsId}: set aside its own poisoned commands'
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: principalId
    principalType: principalType
    conditionVersion: '2.0'
    condition: replace(ownPoisonQueues, '#QUEUES#', '${commandQueuePrefix}${ccsId}-')
  }
}

resource sendReports 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::queueService::reportsQueue.id, principalId, roles.storageQueueDataMessageSender)
  scope: storage::queueService::reportsQueue
  properties: {
    description: 'CCS fleet ${ccsId}: send signed reports'
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataMessageSender
    )
    principalId: principalId
    principalType: principalType
  }
}

resource readOwnSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    description: 'CCS fleet ${ccsId}: read its own two secrets and its sources\' certificates (ccs-${ccsId}--*)'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: principalId
    principalType: principalType
    conditionVersion: '2.0'
    condition: replace(ownSecrets, '#CCSID#', ccsId)
  }
}

resource readCommandKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::commandSigningKey.id, principalId, roles.keyVaultReader)
  scope: vault::commandSigningKey
  properties: {
    description: 'CCS fleet ${ccsId}: verify commands (public key only, no sign)'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultReader)
    principalId: principalId
    principalType: principalType
  }
}
