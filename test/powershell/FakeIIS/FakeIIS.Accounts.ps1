# FakeIIS, part: local accounts, SMB shares and IIS site bindings, for the Windows job's steps
# (scripts/windows). Dot-sourced by FakeIIS.psm1. A share's READ grant is the accounts' `shares`
# list that LogonUser's and the SMB server's checks read (FakeIIS.Logon.ps1).

function New-LocalUser {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string] $Name, [System.Security.SecureString] $Password, [switch] $PasswordNeverExpires, [string] $Description)
  $state = Enter-FakeCommand 'New-LocalUser' $PSBoundParameters
  $accounts = Get-FakeValue $state 'accounts' $null
  if ($null -eq $accounts) { $accounts = [ordered]@{}; $state.accounts = $accounts }
  $full = "$env:COMPUTERNAME\$Name"
  if ($null -ne (Get-FakeEntry -Table $accounts -Key $full)) { throw [System.InvalidOperationException]::new("User $Name already exists.") }
  $accounts[$full] = [ordered]@{ password = (ConvertFrom-FakeSecureString $Password); shares = @() }
  Save-FakeState $state
}

function Set-LocalUser {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string] $Name, [System.Security.SecureString] $Password)
  $state = Enter-FakeCommand 'Set-LocalUser' $PSBoundParameters
  $account = Get-FakeEntry -Table (Get-FakeValue $state 'accounts' @{}) -Key "$env:COMPUTERNAME\$Name"
  if ($null -eq $account) { throw [System.InvalidOperationException]::new("User $Name was not found.") }
  $account.password = ConvertFrom-FakeSecureString $Password
  Save-FakeState $state
}

function New-SmbShare {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true)][string] $Name, [Parameter(Mandatory = $true)][string] $Path, [string[]] $ReadAccess = @(), [string[]] $FullAccess = @())
  $state = Enter-FakeCommand 'New-SmbShare' $PSBoundParameters
  $shares = Get-FakeValue $state 'shares' $null
  if ($null -eq $shares) { $shares = [ordered]@{}; $state.shares = $shares }
  # Reached as \\localhost\<name> (and by the computer's name); SYSTEM reads as the computer account.
  $root = "\\localhost\$Name"
  $shares[$root] = $Path
  $windows = Get-FakeWindows $state
  foreach ($principal in @($ReadAccess) + @($FullAccess)) {
    $account = if ($principal -ieq 'NT AUTHORITY\SYSTEM') { $windows.computerAccount } else { $principal }
    $accounts = Get-FakeValue $state 'accounts' @{}
    $entry = Get-FakeEntry -Table $accounts -Key $account
    if ($null -eq $entry) { $entry = [ordered]@{ shares = @() }; $accounts[$account] = $entry; $state.accounts = $accounts }
    $entry.shares = @($entry.shares) + @($root)
  }
  Save-FakeState $state
}

function New-WebBinding {
  [CmdletBinding()]
  param([string] $Name, [string] $Protocol, [string] $IPAddress, [int] $Port, [string] $HostHeader, [int] $SslFlags)
  $state = Enter-FakeCommand 'New-WebBinding' $PSBoundParameters
  $bindings = @(Get-FakeValue $state 'bindings' @())
  $bindings += [ordered]@{ site = $Name; protocol = $Protocol; bindingInformation = "${IPAddress}:${Port}:$HostHeader"; sslFlags = $SslFlags }
  $state.bindings = $bindings
  Save-FakeState $state
}
