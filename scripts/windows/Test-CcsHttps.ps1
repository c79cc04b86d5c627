<#
.SYNOPSIS
  Windows job step: a TLS handshake with SNI for HostName, and the certificate served must be the
  share's (its SHA-1 thumbprint). Node.js does the handshake: Windows PowerShell 5.1 cannot set SNI
  apart from the URL's host, nor skip validation per request.
#>
[CmdletBinding()]
param(
  [Parameter(Mandatory = $true)][string] $HostName,
  [Parameter(Mandatory = $true)][string] $ExpectedThumbprint,
  [string] $Address = '127.0.0.1',
  [int] $Port = 443,
  [string] $NodePath = 'node'
)
Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

$probe = "const s=require('tls').connect({host:process.argv[1],port:+process.argv[2],servername:process.argv[3],rejectUnauthorized:false},()=>{console.log(s.getPeerCertificate().fingerprint.replace(/:/g,''));s.end()});s.on('error',e=>{console.error(e.message);process.exit(1)})"
$served = "$(& $NodePath -e $probe $Address "$Port" $HostName)".Trim()
if ($LASTEXITCODE -ne 0) { throw "The TLS handshake with $Address`:$Port (SNI $HostName) failed" }
if ($served -ne $ExpectedThumbprint.ToUpperInvariant()) { throw "SNI $HostName served $served, expected $ExpectedThumbprint" }
Write-Host "SNI $HostName -> $served (the share's certificate)"
