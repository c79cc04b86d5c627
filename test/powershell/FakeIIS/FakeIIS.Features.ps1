# FakeIIS, part: the SKU (Win32_OperatingSystem) and the feature cmdlets (ServerManager, Dism).
# Dot-sourced by FakeIIS.psm1.

$script:ComponentsKey = 'SOFTWARE\Microsoft\InetStp\Components'
$script:RebootPendingKey = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'

function Set-FakeFeature {
  <#
    The feature's state and its registry traces: installed, IIS setup sets InetStp\Components
    CertProvider = 1 (what IIS Administration's feature checks read); waiting for a restart, Windows
    servicing holds the Component Based Servicing\RebootPending key until it restarts.
  #>
  param([System.Collections.IDictionary] $State, [string] $Feature)
  $State.feature = $Feature
  if ($Feature -eq 'Installed') {
    Set-FakeRegistryValue -State $State -Key $script:ComponentsKey -Name 'CertProvider' -Type 'REG_DWORD' -Data 1
  }
  if ($Feature -eq 'InstallPending') { $null = Get-FakeRegistryKey -State $State -Key $script:RebootPendingKey -Create }
}

function Get-CimInstance {
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string] $ClassName, [string] $Filter)
  $state = Enter-FakeCommand 'Get-CimInstance' $PSBoundParameters
  switch ($ClassName) {
    'Win32_OperatingSystem' {
      return [pscustomobject]@{
        Caption     = 'Fake Windows'
        ProductType = [int](Get-FakeValue $state 'productType' 3)
        Version     = [string](Get-FakeValue $state 'osVersion' '10.0.20348')
      }
    }
    'Win32_Service' { return Get-FakeServiceInstance -State $state -Filter $Filter }
    default { throw [System.NotSupportedException]::new("fake: class $ClassName") }
  }
}

function Get-WindowsFeature {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string[]] $Name)
  $state = Enter-FakeCommand 'Get-WindowsFeature' $PSBoundParameters
  if ((Get-FakeValue $state 'productType' 3) -eq 1) { throw [System.InvalidOperationException]::new('The target of the specified cmdlet cannot be a Windows client-based operating system') }
  $installState = Get-FakeValue $state 'feature' 'Available'
  foreach ($n in $Name) {
    if ($n -ne 'Web-CertProvider') { continue }
    [pscustomobject]@{ Name = $n; DisplayName = 'Centralized SSL Certificate Support'; Installed = ($installState -eq 'Installed'); InstallState = $installState }
  }
}

function Install-WindowsFeature {
  # Result: Success, RestartNeeded ('Yes'/'No'), ExitCode (Success, SuccessRestartRequired, Failed).
  [CmdletBinding()]
  param([Parameter(Mandatory = $true, Position = 0)][string[]] $Name, [switch] $IncludeManagementTools, [switch] $IncludeAllSubFeature, [switch] $Restart)
  $state = Enter-FakeCommand 'Install-WindowsFeature' $PSBoundParameters
  $known = 'Web-Server', 'Web-CertProvider', 'Web-Scripting-Tools'
  foreach ($n in $Name) { if ($known -notcontains $n) { throw [System.ArgumentException]::new("fake: feature $n") } }
  if ($Name -notcontains 'Web-CertProvider') {
    return [pscustomobject]@{ Success = $true; RestartNeeded = 'No'; ExitCode = 'Success'; FeatureResult = @() }
  }
  switch (Get-FakeValue $state 'install' 'ok') {
    'fail' { return [pscustomobject]@{ Success = $false; RestartNeeded = 'No'; ExitCode = 'Failed'; FeatureResult = @() } }
    'restart' {
      Set-FakeFeature -State $state -Feature 'InstallPending'; Save-FakeState $state
      return [pscustomobject]@{ Success = $true; RestartNeeded = 'Yes'; ExitCode = 'SuccessRestartRequired'; FeatureResult = @() }
    }
    default {
      Set-FakeFeature -State $state -Feature 'Installed'; Save-FakeState $state
      return [pscustomobject]@{ Success = $true; RestartNeeded = 'No'; ExitCode = 'Success'; FeatureResult = @() }
    }
  }
}

function Get-WindowsOptionalFeature {
  [CmdletBinding()]
  param([switch] $Online, [Parameter(Mandatory = $true)][string] $FeatureName)
  $state = Enter-FakeCommand 'Get-WindowsOptionalFeature' $PSBoundParameters
  if (-not $Online) { throw [System.ArgumentException]::new('fake: only -Online is supported') }
  $map = @{ Installed = 'Enabled'; InstallPending = 'EnablePending'; Available = 'Disabled' }
  return [pscustomobject]@{ FeatureName = $FeatureName; State = $map[[string](Get-FakeValue $state 'feature' 'Available')]; RestartNeeded = $false }
}

function Enable-WindowsOptionalFeature {
  [CmdletBinding()]
  param([switch] $Online, [Parameter(Mandatory = $true)][string[]] $FeatureName, [switch] $All, [switch] $NoRestart, [switch] $LimitAccess)
  $state = Enter-FakeCommand 'Enable-WindowsOptionalFeature' $PSBoundParameters
  if (-not $Online) { throw [System.ArgumentException]::new('fake: only -Online is supported') }
  if ($FeatureName -notcontains 'IIS-CertProvider') { throw [System.ArgumentException]::new("fake: feature $FeatureName") }
  switch (Get-FakeValue $state 'install' 'ok') {
    'fail' { throw [System.Runtime.InteropServices.COMException]::new('Enable-WindowsOptionalFeature failed. Error code = 0x800f0922') }
    'restart' { Set-FakeFeature -State $state -Feature 'InstallPending'; Save-FakeState $state; return [pscustomobject]@{ Online = $true; RestartNeeded = $true } }
    default { Set-FakeFeature -State $state -Feature 'Installed'; Save-FakeState $state; return [pscustomobject]@{ Online = $true; RestartNeeded = $false } }
  }
}
