// ================================================================================================
// The Function App's user-assigned managed identity. It exists before the app, so its role
// assignments can be made (and propagate) independently of the site, and the same identity
// keeps its rights if the app is ever recreated.
// ================================================================================================

@description('Required. Name of the user-assigned managed identity.')
param name string

@description('Required. Azure region of the identity.')
param location string

@description('Optional. Tags for the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity (for the site\'s identity block and deployment storage).')
output resourceId string = identity.id

@description('Client (application) id: AZURE_CLIENT_ID and AzureWebJobsStorage__clientId.')
output clientId string = identity.properties.clientId

@description('Object (principal) id: the principal of the API\'s role assignments.')
output principalId string = identity.properties.principalId

@description('Name of the identity.')
output name string = identity.name
