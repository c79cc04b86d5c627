<#
.SYNOPSIS
  Shared by agent\install.ps1 and agent\uninstall.ps1 (dot-sourced, never run on its own).
  Windows PowerShell 5.1 syntax only (test/powershell/ps51-compat.test.ts checks it).
#>

$script:AdministratorsSid = 'S-1-5-32-544'
$script:SystemSid = 'S-1-5-18'
$script:TrustedInstallerSid = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464'
$script:CreatorOwnerSid = 'S-1-3-0'

# The rights that let someone change a file or folder, and nothing else (winnt.h / FileSystemRights):
# WriteData/CreateFiles 0x2, AppendData/CreateDirectories 0x4, WriteExtendedAttributes 0x10,
# DeleteSubdirectoriesAndFiles 0x40, WriteAttributes 0x100, Delete 0x10000, WRITE_DAC
# (ChangePermissions) 0x40000, WRITE_OWNER (TakeOwnership) 0x80000, GENERIC_ALL 0x10000000,
# GENERIC_WRITE 0x40000000. ReadAndExecute (0x1200A9) shares none of them.
$script:WriteRightsMask = [int64]0x500D0156

# Win32_Service.Change / Delete return values (learn.microsoft.com, "Change method of the
# Win32_Service class").
$script:ServiceReturnValues = @{
  1 = 'Not Supported'; 2 = 'Access Denied'; 3 = 'Dependent Services Running'; 8 = 'Unknown Failure'
  9 = 'Path Not Found'; 10 = 'Service Already Running'; 11 = 'Service Database Locked'; 14 = 'Service Disabled'
  15 = 'Service Logon Failed'; 16 = 'Service Marked For Deletion'; 20 = 'Status Invalid Name'
  21 = 'Status Invalid Parameter'; 22 = 'Status Invalid Service Account'; 23 = 'Status Service Exists'
}

function Write-Step([string] $Message) { Write-Host "==> $Message" }

function Get-CcsSid {
  # An ACE's identity as a SID string ('S-1-5-32-545'), or its name when it cannot be translated.
  param($Identity)
  try { return $Identity.Translate([System.Security.Principal.SecurityIdentifier]).Value }
  catch { return "$Identity" }
}

function Get-CcsWriters {
  <#
    "<path>: <principal>" for every Allow ACE that gives a principal other than Administrators,
    SYSTEM, TrustedInstaller or CREATOR OWNER a real write right, on Path and (with -Recurse) on
    everything below it.
  #>
  param([Parameter(Mandatory = $true)][string] $Path, [switch] $Recurse)
  $trusted = @($script:AdministratorsSid, $script:SystemSid, $script:TrustedInstallerSid, $script:CreatorOwnerSid)
  $items = @($Path)
  if ($Recurse) { $items += @(Get-ChildItem -LiteralPath $Path -Recurse -Force -ErrorAction SilentlyContinue | ForEach-Object { $_.FullName }) }
  $writers = @()
  foreach ($item in $items) {
    foreach ($rule in (Get-Acl -LiteralPath $item).Access) {
      if ("$($rule.AccessControlType)" -ne 'Allow') { continue }
      if ((([int64]$rule.FileSystemRights) -band $script:WriteRightsMask) -eq 0) { continue }
      $sid = Get-CcsSid $rule.IdentityReference
      if ($trusted -notcontains $sid) { $writers += "${item}: $($rule.IdentityReference)" }
    }
  }
  return $writers
}

function Set-AdminOnlyAcl {
  # Administrators and SYSTEM, full control, inherited by everything below; nothing else.
  param([string] $Path)
  & icacls.exe $Path /inheritance:r /grant:r "*$($script:AdministratorsSid):(OI)(CI)F" "*$($script:SystemSid):(OI)(CI)F" /T /C /Q | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls could not set the ACL of $Path (exit code $LASTEXITCODE)" }
  & icacls.exe $Path /setowner "*$script:AdministratorsSid" /T /C /Q | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls could not set the owner of $Path (exit code $LASTEXITCODE)" }
  # /grant:r replaces only those two principals' rights: drop every other explicit one.
  foreach ($rule in (Get-Acl -LiteralPath $Path).Access) {
    $sid = Get-CcsSid $rule.IdentityReference
    if (@($script:AdministratorsSid, $script:SystemSid) -notcontains $sid) {
      & icacls.exe $Path /remove:g "*$sid" /T /C /Q | Out-Null
    }
  }
}

function ConvertTo-ArgumentString {
  # Windows command-line quoting (the rules CommandLineToArgvW and .NET's Main(string[]) use).
  param([string[]] $Arguments)
  $quoted = foreach ($a in $Arguments) {
    if ($a -ne '' -and $a -notmatch '[\s"]') { $a; continue }
    $escaped = [regex]::Replace($a, '(\\*)"', { param($m) ($m.Groups[1].Value * 2) + '\"' })
    $escaped = [regex]::Replace($escaped, '(\\+)$', { param($m) $m.Groups[1].Value * 2 })
    '"' + $escaped + '"'
  }
  return ($quoted -join ' ')
}

function Invoke-ServiceMethod {
  # A Win32_Service method through CIM (named arguments: no command-line quoting anywhere).
  param([Parameter(Mandatory = $true)][string] $Name, [Parameter(Mandatory = $true)][string] $Method, [hashtable] $Arguments = @{})
  $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'"
  if ($null -eq $service) { throw "The service $Name does not exist" }
  $result = Invoke-CimMethod -InputObject $service -MethodName $Method -Arguments $Arguments
  $code = [int]$result.ReturnValue
  if ($code -ne 0) {
    $meaning = $script:ServiceReturnValues[$code]
    throw "Win32_Service.$Method of $Name returned $code ($meaning)"
  }
  return $service
}

function Get-MachineEnvironment {
  # A machine-wide variable as Windows stores it (services see new ones only after a restart).
  param([string] $Name)
  $key = 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager\Environment'
  $values = Get-ItemProperty -Path $key -ErrorAction SilentlyContinue
  if ($null -eq $values -or $null -eq $values.PSObject.Properties[$Name]) { return $null }
  return [string]$values.$Name
}

function Get-ProxyEnvironment {
  <#
    HTTPS_PROXY and NO_PROXY for the service. The Azure SDK sends every request through one proxy
    (HTTPS_PROXY, else HTTP_PROXY) unless the host is listed in NO_PROXY, matched exactly or as a
    ".suffix" and without the port (@typespec/ts-http-runtime, proxyPolicy isBypassed): the managed
    identity endpoints — Azure Arc's on localhost:40342, the VM's on 169.254.169.254 — must be
    listed or the token requests go to the proxy.
  #>
  param([Parameter(Mandatory = $true)][string] $Proxy, [string[]] $Bypass = @(), [string[]] $IdentityEndpoints = @())
  $uri = $null
  if (-not [System.Uri]::TryCreate($Proxy, [System.UriKind]::Absolute, [ref]$uri) -or @('http', 'https') -notcontains $uri.Scheme) {
    throw "-Proxy must be an http:// or https:// URL, e.g. http://proxy.contoso.com:8080"
  }
  if ($uri.UserInfo) { throw '-Proxy must not hold credentials: the service environment is readable by every user of the server' }
  $hosts = @('localhost', '127.0.0.1', '169.254.169.254')
  foreach ($endpoint in $IdentityEndpoints) {
    $parsed = $null
    if ($endpoint -and [System.Uri]::TryCreate($endpoint, [System.UriKind]::Absolute, [ref]$parsed)) { $hosts += $parsed.Host }
  }
  $hosts += $Bypass
  $unique = @()
  foreach ($h in $hosts) { if ($h -and $unique -notcontains $h.ToLowerInvariant()) { $unique += $h.ToLowerInvariant() } }
  return @("HTTPS_PROXY=$($uri.AbsoluteUri.TrimEnd('/'))", "NO_PROXY=$($unique -join ',')")
}
