#!/usr/bin/env bash
# Installs the project's non-npm tools into <repo>/.tools/ (gitignored), from NuGet only:
#   .tools/bicep/bicep   Bicep CLI, copied out of the NuGet package Azure.Bicep.CommandLine.<rid>
#   .tools/pwsh/pwsh     PowerShell, as a dotnet tool (tool-path install, no global state)
# Idempotent and fast on re-run: a tool already present at the wanted version is skipped.
# Needs the .NET SDK (`dotnet`) and the NuGet source configured on this machine; no other
# network access. PowerShell failures are reported and tolerated unless CCS_REQUIRE_PWSH is set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
PWSH_VERSION="${PWSH_VERSION:-7.6.9}"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '[install-tools] %s\n' "$*" >&2; }

# The NuGet runtime identifier of this machine (the Bicep CLI ships one package per platform).
bicep_rid() {
  local os arch
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=osx ;;
    *) log "unsupported OS $(uname -s)"; return 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) log "unsupported CPU $(uname -m)"; return 1 ;;
  esac
  printf '%s-%s' "$os" "$arch"
}

install_bicep() {
  local dest="$TOOLS/bicep/bicep" stamp="$TOOLS/bicep/.version"
  if [[ -x "$dest" && "$(cat "$stamp" 2>/dev/null)" == "$BICEP_VERSION" ]]; then
    log "bicep $BICEP_VERSION already in .tools/bicep"
    return 0
  fi
  command -v dotnet >/dev/null || { log "dotnet not found: cannot fetch the Bicep CLI package"; return 1; }

  local rid package tfm work
  rid="$(bicep_rid)"
  package="Azure.Bicep.CommandLine.$rid"
  # A throwaway project whose only job is to make `dotnet restore` download the package from
  # the configured NuGet source into a private folder (PackageDownload: no reference, no build).
  tfm="net$(dotnet --version | cut -d. -f1).0"
  work="$(mktemp -d)"
  WORK_DIRS+=("$work")
  cat >"$work/fetch.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>$tfm</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="$package" Version="[$BICEP_VERSION]" /></ItemGroup>
</Project>
XML
  log "fetching $package $BICEP_VERSION from the NuGet source"
  dotnet restore "$work/fetch.csproj" --packages "$work/packages" --verbosity quiet >&2

  local lower src
  lower="$(printf '%s' "$package" | tr '[:upper:]' '[:lower:]')"
  src="$work/packages/$lower/$BICEP_VERSION/tools/bicep"
  [[ -f "$src" ]] || { log "the package has no tools/bicep"; return 1; }
  mkdir -p "$TOOLS/bicep"
  cp "$src" "$dest.tmp"
  chmod +x "$dest.tmp"
  mv -f "$dest.tmp" "$dest"
  "$dest" --version | grep -q "version $BICEP_VERSION " || { log "unexpected bicep version"; return 1; }
  printf '%s\n' "$BICEP_VERSION" >"$stamp"
}

install_pwsh() {
  local dir="$TOOLS/pwsh" stamp="$TOOLS/pwsh/.version"
  if [[ -x "$dir/pwsh" && "$(cat "$stamp" 2>/dev/null)" == "$PWSH_VERSION" ]]; then
    log "pwsh $PWSH_VERSION already in .tools/pwsh"
    return 0
  fi
  command -v dotnet >/dev/null || { log "dotnet not found: cannot install PowerShell"; return 1; }
  log "installing PowerShell $PWSH_VERSION as a dotnet tool"
  # Called as an `if` condition, where `set -e` does not apply: every step checks itself.
  local verb=install
  [[ -d "$dir" ]] && verb=update
  dotnet tool "$verb" PowerShell --version "$PWSH_VERSION" --tool-path "$dir" >&2 || return 1
  printf '%s\n' "$PWSH_VERSION" >"$stamp"
}

WORK_DIRS=()
cleanup() { if ((${#WORK_DIRS[@]})); then rm -rf "${WORK_DIRS[@]}"; fi; }
trap cleanup EXIT

mkdir -p "$TOOLS"

install_bicep
"$TOOLS/bicep/bicep" --version

if install_pwsh; then
  "$TOOLS/pwsh/pwsh" -NoProfile -NoLogo -Command '"PowerShell " + $PSVersionTable.PSVersion.ToString()' ||
    { log "pwsh is installed but does not start"; [[ -z "${CCS_REQUIRE_PWSH:-}" ]] || exit 1; }
elif [[ -n "${CCS_REQUIRE_PWSH:-}" ]]; then
  log "PowerShell could not be installed and CCS_REQUIRE_PWSH is set"
  exit 1
else
  log "WARNING: PowerShell could not be installed; continuing (set CCS_REQUIRE_PWSH=1 to fail)"
fi
