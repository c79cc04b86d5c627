// ================================================================================================
// Key Vault for the CCS passwords (identity password, private-key password of each ccs-id, as
// versioned secrets the API writes at run time). RBAC authorization only (no access policies),
// soft delete with purge protection, and every data-plane access audited to Log Analytics.
// ================================================================================================

@description('Required. Name of the vault (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Required. Azure region of the vault.')
param location string

@description('Optional. Tags for the vault.')
param tags object = {}

@description('Required. Resource id of the Log Analytics workspace that receives the audit log.')
param workspaceId string

@minValue(7)
@maxValue(90)
@description('Optional. Days a deleted vault or secret stays recoverable. Cannot be changed after creation.')
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    // Purge protection cannot be turned off again: a deleted secret (or vault) always survives
    // its retention period, even against an owner's purge.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    // Agents on premises fetch secrets over the internet; access is by Entra ID + RBAC only.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Audit: who read or wrote which secret version, from where. The 'audit' group is AuditEvent.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

@description('Name of the vault.')
output name string = vault.name

@description('Vault URI, e.g. https://kv-xxx.vault.azure.net/ (CCS_KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri
