// ================================================================================================
// Log Analytics workspace + workspace-based Application Insights. Local authentication is off on
// both: the workspace takes no shared keys, and Application Insights accepts only
// Entra-authenticated telemetry, so the connection string in the app settings is an address, not
// a credential.
// ================================================================================================

@description('Required. Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Azure region of both resources.')
param location string

@description('Optional. Tags for both resources.')
param tags object = {}

@minValue(30)
@maxValue(730)
@description('Optional. Days the workspace keeps logs (30 are included in the ingestion price).')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
      // Queries and ingestion with Entra ID only: no workspace keys (shared keys) accepted.
      disableLocalAuth: true
    }
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
  }
}

@description('Resource id of the Log Analytics workspace (diagnostic settings send here).')
output workspaceId string = workspace.id

@description('Name of the Application Insights component.')
output applicationInsightsName string = appInsights.name
