# FakeIIS, part: the installer's world — the Service Control Manager through its cmdlets, CIM
# (Win32_Service) and sc.exe, file ACLs (Get-Acl, icacls.exe), the module catalogue.
# Dot-sourced by FakeIIS.psm1.
#
# - Win32_Service.Change (learn.microsoft.com, "Change method of the Win32_Service class"): named
#   arguments DisplayName, PathName, ServiceType, ErrorControl, StartMode, DesktopInteract,
#   StartName, StartPassword, LoadOrderGroup, LoadOrderGroupDependencies, ServiceDependencies;
#   ReturnValue 0 success, 21 invalid parameter (e.g. a StartMode other than Boot, System,
#   Automatic, Manual, Disabled), 22 invalid service account. The PathName is stored as given.
#   An argument the method does not have is a CIM error (WBEM_E_INVALID_PARAMETER).
# - Win32_Service.Delete: ReturnValue 0; the SCM removes the service once it is stopped.
# - sc.exe: Windows PowerShell 5.1 passes native arguments the legacy way (about_Parsing,
#   $PSNativeCommandArgumentPassing): an argument with embedded double quotes reaches the program
#   unescaped, so sc.exe sees another command line. The stand-in refuses any argument holding a
#   double quote instead of guessing what 5.1 would have made of it.
# - New-Service creates HKLM\SYSTEM\CurrentControlSet\Services\<name>, where the service's
#   Environment (REG_MULTI_SZ) lives.

function Get-FakeServices {
  param([System.Collections.IDictionary] $State)
  $services = Get-FakeValue $State 'services' $null
  if ($null -eq $services) { $services = [ordered]@{}; $State.services = $services }
  return $services
}

function New-FakeServiceObject {
  param([System.Collections.IDictionary] $Service)
  $object = [pscustomobject]@{ Name = $Service.Name; ServiceName = $Service.Name; DisplayName = $Service.DisplayName; Status = $Service.State }
  $object | Add-Member -MemberType ScriptMethod -Name WaitForStatus -Value { param($status, $timeout) $null = $status; $null = $timeout }
  return $object
}

function Get-FakeServiceInstance {
  param([System.Collections.IDictionary] $State, [string] $Filter)
  if ($Filter -notmatch "^Name='([^']+)'$") { throw [System.NotSupportedException]::new("fake: filter $Filter") }
  $service = Get-FakeEntry -Table (Get-FakeServices $State) -Key $Matches[1]
  if ($null -eq $service) { return $null }
  return [pscustomobject]@{
    Name = $service.Name; PathName = $service.PathName; StartName = $service.StartName; StartMode = $service.StartMode
    DelayedAutoStart = [bool]$service.DelayedAutoStart; State = $service.State; CimClass = 'Win32_Service'
  }
}

function Invoke-CimMethod {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)] $InputObject, [Parameter(Mandatory = $true)][string] $MethodName, [System.Collections.IDictionary] $Arguments = @{})
  $state = Enter-FakeCommand "Win32_Service.$MethodName" $Arguments
  $services = Get-FakeServices $State
  $service = Get-FakeEntry -Table $services -Key $InputObject.Name
  if ($null -eq $service) { return [pscustomobject]@{ ReturnValue = [uint32]8 } }  # Unknown Failure
  if ($MethodName -eq 'Delete') {
    $services.Remove($service.Name)
    $registry = Get-FakeValue $state 'registry' @{}
    $registry.Remove("SYSTEM\CurrentControlSet\Services\$($service.Name)")
    Save-FakeState $state
    return [pscustomobject]@{ ReturnValue = [uint32]0 }
  }
  if ($MethodName -ne 'Change') { throw [System.NotSupportedException]::new("fake: method $MethodName") }
  $known = 'DisplayName', 'PathName', 'ServiceType', 'ErrorControl', 'StartMode', 'DesktopInteract', 'StartName', 'StartPassword', 'LoadOrderGroup', 'LoadOrderGroupDependencies', 'ServiceDependencies'
  foreach ($name in $Arguments.Keys) {
    if ($known -notcontains $name) { throw [Microsoft.Management.Infrastructure.CimException]::new("Invalid parameter: $name") }
  }
  if ($Arguments.Contains('StartMode') -and @('Boot', 'System', 'Automatic', 'Manual', 'Disabled') -notcontains $Arguments.StartMode) {
    return [pscustomobject]@{ ReturnValue = [uint32]21 }
  }
  if ($Arguments.Contains('StartName') -and [string]::IsNullOrWhiteSpace($Arguments.StartName)) { return [pscustomobject]@{ ReturnValue = [uint32]22 } }
  if ($Arguments.Contains('PathName')) { $service.PathName = [string]$Arguments.PathName }
  if ($Arguments.Contains('DisplayName')) { $service.DisplayName = [string]$Arguments.DisplayName }
  if ($Arguments.Contains('StartName')) { $service.StartName = [string]$Arguments.StartName }
  if ($Arguments.Contains('StartMode')) { $service.StartMode = @{ Automatic = 'Auto' }[$Arguments.StartMode] ?? $Arguments.StartMode }
  Save-FakeState $state
  return [pscustomobject]@{ ReturnValue = [uint32]0 }
}

function Get-Service {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $Name)
  $state = Read-FakeState
  $service = Get-FakeEntry -Table (Get-FakeServices $state) -Key $Name
  if ($null -eq $service) { Write-Error -Message "Cannot find any service with service name '$Name'." -Category ObjectNotFound; return }
  return New-FakeServiceObject $service
}

function New-Service {
  [CmdletBinding()]
  param(
    [Parameter(Mandatory = $true, Position = 0)][string] $Name,
    [Parameter(Mandatory = $true, Position = 1)][string] $BinaryPathName,
    [string] $DisplayName, [string] $Description, [string] $StartupType = 'Automatic'
  )
  $state = Enter-FakeCommand 'New-Service' $PSBoundParameters
  $services = Get-FakeServices $state
  if ($null -ne (Get-FakeEntry -Table $services -Key $Name)) { throw [System.InvalidOperationException]::new("Service '$Name' already exists") }
  $services[$Name] = [ordered]@{
    Name = $Name; DisplayName = $DisplayName; Description = $Description; PathName = $BinaryPathName
    StartMode = @{ Automatic = 'Auto'; Manual = 'Manual'; Disabled = 'Disabled' }[$StartupType]; DelayedAutoStart = $false
    StartName = 'LocalSystem'; State = 'Stopped'
  }
  $null = Get-FakeRegistryKey -State $state -Key "SYSTEM\CurrentControlSet\Services\$Name" -Create
  Save-FakeState $state
  return New-FakeServiceObject $services[$Name]
}

function Set-FakeServiceState {
  param([string] $Command, [string] $Name, [string] $To)
  $state = Enter-FakeCommand $Command @{ Name = $Name }
  $service = Get-FakeEntry -Table (Get-FakeServices $state) -Key $Name
  if ($null -eq $service) { throw [System.InvalidOperationException]::new("Cannot find any service with service name '$Name'.") }
  $service.State = $To
  Save-FakeState $state
}

function Start-Service {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $Name)
  Set-FakeServiceState 'Start-Service' $Name 'Running'
}

function Stop-Service {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $Name, [switch] $Force)
  Set-FakeServiceState 'Stop-Service' $Name 'Stopped'
}

function sc.exe {
  $state = Read-FakeState
  foreach ($argument in $args) {
    if ("$argument".Contains('"')) { throw [System.ArgumentException]::new("fake sc.exe: an argument with embedded quotes would be mangled by Windows PowerShell 5.1: $argument") }
  }
  Add-FakeCall -State $state -Command 'sc.exe' -Parameters ([ordered]@{ args = ($args -join ' ') })
  $service = Get-FakeEntry -Table (Get-FakeServices $state) -Key ([string]$args[1])
  $global:LASTEXITCODE = 0
  if ($null -eq $service) { $global:LASTEXITCODE = 1060; Save-FakeState $state; return }  # ERROR_SERVICE_DOES_NOT_EXIST
  switch ([string]$args[0]) {
    'config' { if (($args -join ' ') -match 'start= delayed-auto') { $service.StartMode = 'Auto'; $service.DelayedAutoStart = $true } }
    'failure' { $service.FailureActions = ($args[2..($args.Count - 1)] -join ' ') }
    'failureflag' { $service.FailureFlag = [int]$args[2] }
    default { $global:LASTEXITCODE = 87 }
  }
  Save-FakeState $state
}

# ------------------------------------------------------------------------------------------------
# File ACLs: { "<path>": [ { sid, rights, type } ] }; a path without an entry has its nearest
# configured ancestor's rules, inherited (what (OI)(CI) inheritance gives a child).

function Get-FakeAclRules {
  param([System.Collections.IDictionary] $State, [string] $Path)
  $acl = Get-FakeValue $State 'acl' @{}
  $current = $Path.TrimEnd('/', '\')
  $inherited = $false
  while ($current) {
    $rules = Get-FakeEntry -Table $acl -Key $current
    if ($null -ne $rules) { return @{ rules = @($rules); inherited = $inherited } }
    $parent = Split-Path -Parent $current
    if ($parent -eq $current) { break }
    $current = $parent
    $inherited = $true
  }
  return @{ rules = @(); inherited = $false }
}

function Get-Acl {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string] $LiteralPath)
  $found = Get-FakeAclRules -State (Read-FakeState) -Path $LiteralPath
  $access = foreach ($rule in $found.rules) {
    $identity = [pscustomobject]@{ Value = $rule.sid }
    $identity | Add-Member -MemberType ScriptMethod -Name Translate -Value { param($type) $null = $type; [pscustomobject]@{ Value = $this.Value } }
    $identity | Add-Member -MemberType ScriptMethod -Name ToString -Value { $this.Value } -Force
    [pscustomobject]@{ FileSystemRights = [int64]$rule.rights; AccessControlType = $rule.type; IdentityReference = $identity; IsInherited = $found.inherited }
  }
  return [pscustomobject]@{ Path = $LiteralPath; Access = @($access) }
}

function icacls.exe {
  # /inheritance:r /grant:r *SID:(OI)(CI)F ... replaces the rules; /remove:g *SID drops one; /setowner is recorded.
  $state = Read-FakeState
  Add-FakeCall -State $state -Command 'icacls.exe' -Parameters ([ordered]@{ args = ($args -join ' ') })
  $path = [string]$args[0]
  $acl = Get-FakeValue $state 'acl' $null
  if ($null -eq $acl) { $acl = [ordered]@{}; $state.acl = $acl }
  if ($args -contains '/grant:r') {
    $grants = @($args | Where-Object { "$_" -match '^\*(S-[0-9-]+):\(OI\)\(CI\)F$' } | ForEach-Object { [ordered]@{ sid = ($_ -replace '^\*(S-[0-9-]+):.*$', '$1'); rights = 2032127; type = 'Allow' } })
    $acl[$path] = $grants
  }
  $global:LASTEXITCODE = 0
  Save-FakeState $state
}

function Get-Module {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]] $Name, [switch] $ListAvailable)
  if ($ListAvailable -and $Name -contains 'IISAdministration') {
    $state = Enter-FakeCommand 'Get-Module' $PSBoundParameters
    if ((Get-FakeValue (Get-FakeValue $state 'modules' @{}) 'IISAdministration' $true) -eq $false) { return }
    return [pscustomobject]@{ Name = 'IISAdministration'; Version = [version]'1.1.0.0' }
  }
  return Microsoft.PowerShell.Core\Get-Module @PSBoundParameters
}

function Unblock-File {
  [CmdletBinding()]
  param([Parameter(ValueFromPipeline = $true, ValueFromPipelineByPropertyName = $true)][Alias('FullName')][string[]] $Path)
  process { $null = $Path }
}
