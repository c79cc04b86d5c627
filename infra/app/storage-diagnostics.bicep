// ================================================================================================
// Storage audit (issue 17): every read, write and delete on the queues (commands, reports) and
// the tables (desired state, hosts, operations, enrolment, audit) goes to Log Analytics, with the
// caller's identity and address, as Key Vault's audit already does. Diagnostic settings for
// Storage live on each service (queueServices/default, tableServices/default), not on the account.
// ================================================================================================

@description('Required. Name of the storage account.')
param storageAccountName string

@description('Required. Resource id of the Log Analytics workspace that receives the logs.')
param workspaceId string

// The three resource-log categories of a storage service (Azure Monitor: StorageRead,
// StorageWrite, StorageDelete); transaction metrics beside them.
var storageLogs = [
  {
    category: 'StorageRead'
    enabled: true
  }
  {
    category: 'StorageWrite'
    enabled: true
  }
  {
    category: 'StorageDelete'
    enabled: true
  }
]
var storageMetrics = [
  {
    category: 'Transaction'
    enabled: true
  }
]

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' existing = {
  name: storageAccountName

  resource queueService 'queueServices' existing = {
    name: 'default'
  }

  resource tableService 'tableServices' existing = {
    name: 'default'
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'queue-audit-to-log-analytics'
  scope: storage::queueService
  properties: {
    workspaceId: workspaceId
    logs: storageLogs
    metrics: storageMetrics
  }
}

resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'table-audit-to-log-analytics'
  scope: storage::tableService
  properties: {
    workspaceId: workspaceId
    logs: storageLogs
    metrics: storageMetrics
  }
}
