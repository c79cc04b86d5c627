// ================================================================================================
// Network rules for Storage and Key Vault (issue 17), from one `networkRules` parameter of
// main.bicep. Empty (the default): both accept every network, as before — the agents are on
// premises and reach the queues and the vault over the internet, and access is by Entra ID and
// RBAC only. With addresses or subnets: both refuse everything else (defaultAction Deny), and
// trusted Azure services still pass (bypass AzureServices). docs/deploy.md says what the Function
// App then needs (VNet integration into one of the subnets).
// ================================================================================================

@export()
@description('Where Storage and Key Vault accept requests from. Both empty: from anywhere.')
type networkRulesType = {
  @description('Optional. Public IPv4 addresses or CIDR ranges, e.g. the agents\' NAT egress (203.0.113.0/24).')
  ipRanges: string[]?

  @description('Optional. Resource ids of virtual network subnets (with the Microsoft.Storage and Microsoft.KeyVault service endpoints).')
  subnetIds: string[]?
}

// Storage takes a single address, not a /32 or /31 range, as an IP rule (Azure Storage firewall
// rules: "small address ranges using /31 or /32 prefix sizes are not supported").
func storageAddress(range string) string => endsWith(range, '/32') ? replace(range, '/32', '') : range

@export()
@description('The storage account\'s networkAcls.')
func storageNetworkAcls(rules networkRulesType) object =>
  empty(rules.?ipRanges ?? []) && empty(rules.?subnetIds ?? [])
    ? {
        defaultAction: 'Allow'
        bypass: 'AzureServices'
      }
    : {
        defaultAction: 'Deny'
        bypass: 'AzureServices'
        ipRules: map(rules.?ipRanges ?? [], range => {
          value: storageAddress(range)
          action: 'Allow'
        })
        virtualNetworkRules: map(rules.?subnetIds ?? [], id => {
          id: id
          action: 'Allow'
        })
      }

@export()
@description('The vault\'s networkAcls.')
func vaultNetworkAcls(rules networkRulesType) object =>
  empty(rules.?ipRanges ?? []) && empty(rules.?subnetIds ?? [])
    ? {
        defaultAction: 'Allow'
        bypass: 'AzureServices'
      }
    : {
        defaultAction: 'Deny'
        bypass: 'AzureServices'
        ipRules: map(rules.?ipRanges ?? [], range => {
          value: range
        })
        virtualNetworkRules: map(rules.?subnetIds ?? [], id => {
          id: id
          ignoreMissingVnetServiceEndpoint: false
        })
      }
