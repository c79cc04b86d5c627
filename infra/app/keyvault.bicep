// ================================================================================================
// Key Vault for the CCS passwords (identity password, private-key password of each ccs-id, as
// versioned secrets the API writes at run time) and the key that signs commands to agents.
// RBAC authorization only (no access policies), soft delete with purge protection, and every
// data-plane access audited to Log Analytics.
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

@description('Optional. Name of the key that signs commands to agents (COMMAND_SIGNING_KEY in shared/signing.ts).')
param commandSigningKeyName string = 'ccs-command-signing'

@description('Optional. Network rules (app/network-rules.bicep). Default: every network, Azure services bypass.')
param networkAcls object = {
  defaultAction: 'Allow'
  bypass: 'AzureServices'
}

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
    // Agents on premises fetch secrets over the internet; access is by Entra ID + RBAC only, and
    // networkAcls narrows where from (network-rules.bicep).
    publicNetworkAccess: 'Enabled'
    networkAcls: networkAcls
  }
}

// Commands to agents are signed with this key (shared/signing.ts): EC P-256, sign and verify only,
// made in the vault and not exportable. The API signs through Key Vault (Key Vault Crypto User on
// this key); agents read its public part (Key Vault Reader on this key). A deployment creates it
// once and never replaces it (the management plane's create-if-not-exists). It rotates yearly;
// the API signs with the new version within 10 minutes, and agents accept a version until its
// expiry, well past the 24-hour command lifetime.
resource commandSigningKey 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: commandSigningKeyName
  properties: {
    kty: 'EC'
    curveName: 'P-256'
    keyOps: [
      'sign'
      'verify'
    ]
    attributes: {
      enabled: true
      exportable: false
    }
    rotationPolicy: {
      attributes: {
        expiryTime: 'P2Y'
      }
      lifetimeActions: [
        {
          action: {
            type: 'rotate'
          }
          trigger: {
            timeAfterCreate: 'P1Y'
          }
        }
        {
          action: {
            type: 'notify'
          }
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
        }
      ]
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

@description('Name of the command-signing key.')
output commandSigningKeyName string = commandSigningKey.name

@description('Vault URI, e.g. https://kv-xxx.vault.azure.net/ (CCS_KEY_VAULT_URL).')
output uri string = vault.properties.vaultUri
