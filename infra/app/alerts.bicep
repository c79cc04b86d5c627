// ================================================================================================
// Expiry and coverage alerts (issue 13). The API's timer (functions/timer/coverage-telemetry.ts)
// writes, every 15 minutes and per enabled ccs-id, one trace per bound certificate expiring within
// CCS_CERTIFICATE_EXPIRY_WARNING_DAYS (`ccs.certificate.expiring`) and one per bound host name no
// share file serves (`ccs.binding.uncovered`); each trace's message is a JSON line with `msg`,
// `ccsId`, `hostName` (and `daysLeft`). Two log search alert rules count them over the last hour,
// split by ccs-id and host name, so each name fires (and resolves) on its own, and mail the action
// group. The event names are shared with shared/services/coverage-telemetry.ts.
// ================================================================================================

@description('Required. Name of the Application Insights component the API writes its traces to.')
param applicationInsightsName string

@description('Required. Azure region of the alert rules (the action group is global).')
param location string

@description('Required. Prefix of the resource names (unique per environment).')
param namePrefix string

@description('Optional. Email address the alerts are sent to; empty: the rules fire in the portal only.')
param alertEmailAddress string = ''

@description('Optional. Tags for every resource.')
param tags object = {}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: '${namePrefix}-certificates'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'ccs-certs'
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

// The traces of one event, with the JSON fields as columns (the message is the JSON line).
var eventsQuery = 'traces | where message has "{0}" | extend event = parse_json(message) | where tostring(event.msg) == "{0}" | extend ccsId = tostring(event.ccsId), hostName = tostring(event.hostName), daysLeft = toint(event.daysLeft)'

var rules = [
  {
    name: 'certificate-expiring'
    event: 'ccs.certificate.expiring'
    displayName: 'CCS: a bound certificate expires soon'
    description: 'A certificate that a CCS binding is served from expires within CCS_CERTIFICATE_EXPIRY_WARNING_DAYS, or has expired (per ccs-id and host name; daysLeft in the results).'
    severity: 2
  }
  {
    name: 'binding-uncovered'
    event: 'ccs.binding.uncovered'
    displayName: 'CCS: a bound host name has no certificate'
    description: 'A host name that an IIS binding serves from the Central Certificate Store has no usable file in the share (per ccs-id and host name): its handshakes fail.'
    severity: 1
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        appInsights.id
      ]
      // The timer runs every 15 minutes: an hour's window tolerates a missed run.
      evaluationFrequency: 'PT15M'
      windowSize: 'PT1H'
      criteria: {
        allOf: [
          {
            query: format(eventsQuery, rule.event)
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            dimensions: [
              {
                name: 'ccsId'
                operator: 'Include'
                values: [
                  '*'
                ]
              }
              {
                name: 'hostName'
                operator: 'Include'
                values: [
                  '*'
                ]
              }
            ]
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(alertEmailAddress) ? [] : [
          actionGroup.id
        ]
      }
    }
  }
]

@description('Resource ids of the alert rules.')
output alertRuleIds array = [for (rule, i) in rules: alertRules[i].id]
