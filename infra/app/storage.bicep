// ================================================================================================
// The storage account: the per-host command queues (created at run time by the API), the
// reports queue (created here, so the agents' send right can be scoped to it), the tables of
// desired state, hosts and operations, and the blob container Flex Consumption deploys from.
// Identity-based access only: shared keys (and so SAS and connection strings with keys) are off.
// ================================================================================================

@description('Required. Name of the storage account (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region of the account.')
param location string

@description('Optional. Tags for the account.')
param tags object = {}

@description('Required. Name of the reports queue (REPORTS_QUEUE in shared/names.ts).')
param reportsQueueName string

@description('Required. Name of the blob container that holds the Function App\'s deployment package.')
param deploymentContainerName string

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
@description('Optional. Replication of the account. Default: Standard_LRS (queues hold only transient commands).')
param skuName string = 'Standard_LRS'

@minValue(1)
@maxValue(365)
@description('Optional. Days deleted blobs and containers stay recoverable (blob soft delete).')
param blobSoftDeleteDays int = 7

@description('Optional. Network rules (app/network-rules.bicep). Default: every network, Azure services bypass.')
param networkAcls object = {
  defaultAction: 'Allow'
  bypass: 'AzureServices'
}

resource account 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    // Agents on premises reach the queues over the internet; access is by Entra ID only, and
    // networkAcls narrows where from (network-rules.bicep).
    publicNetworkAccess: 'Enabled'
    networkAcls: networkAcls
  }
}

// Soft delete exists for blobs and containers only (queues and tables have none): it protects
// the deployment package and the Functions host's own containers.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: blobSoftDeleteDays
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: account
  name: 'default'
}

resource reportsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: reportsQueueName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2024-01-01' = {
  parent: account
  name: 'default'
}

@description('Name of the storage account.')
output name string = account.name

@description('Blob endpoint (AzureWebJobsStorage__blobServiceUri; deployment package).')
output blobEndpoint string = account.properties.primaryEndpoints.blob

@description('Queue endpoint (AzureWebJobsStorage__queueServiceUri; the agents poll it).')
output queueEndpoint string = account.properties.primaryEndpoints.queue

@description('Table endpoint (AzureWebJobsStorage__tableServiceUri).')
output tableEndpoint string = account.properties.primaryEndpoints.table

@description('Name of the deployment package container.')
output deploymentContainerName string = deploymentContainer.name

@description('Name of the reports queue.')
output reportsQueueName string = reportsQueue.name
