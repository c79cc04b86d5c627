#!/usr/bin/env bash
# Generates the PKCS#12 test fixtures in test/fixtures/pfx/ with the openssl CLI (OpenSSL 3.x,
# legacy provider needed for the RC2/RC4 variants). The output is committed; re-running the
# script replaces every file with new keys, so only re-run it when the fixture set changes.
#
#   scripts/make-pfx-fixtures.sh            # from the repository root
#
# TEST KEYS ONLY. Password of every protected file: Fixture-Pa55!  (see the README it writes)
#
# Layout: test/fixtures/pfx/<encoding>/<host>.pfx (Central Certificate Store naming), plus
# expected.json: for every file, the password, its expected protection and what
# `openssl pkcs12 -nokeys` + `openssl x509` report for each certificate in it.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=test/fixtures/pfx
PASS='Fixture-Pa55!'
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

command -v openssl >/dev/null || { echo "openssl not found" >&2; exit 1; }
openssl version

rm -rf "$OUT"
mkdir -p "$OUT" "$WORK/newcerts"

# ---------------------------------------------------------------------------------------------
# A test CA and four leaf certificates issued with `openssl ca`, which takes explicit
# -startdate/-enddate (so the expired certificate needs no faketime).
touch "$WORK/index.txt"
echo 1000 >"$WORK/serial"
cat >"$WORK/ca.cnf" <<CNF
[ ca ]
default_ca = fixture_ca
[ fixture_ca ]
dir = $WORK
database = $WORK/index.txt
new_certs_dir = $WORK/newcerts
serial = $WORK/serial
certificate = $WORK/ca.crt
private_key = $WORK/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
commonName = supplied
CNF

# The CA is self-signed through `openssl ca -selfsign` too, for fixed dates.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/ca.key" 2>/dev/null
openssl req -new -key "$WORK/ca.key" -out "$WORK/ca.csr" -subj '/C=US/O=Contoso Fixtures/CN=Contoso Fixture Test CA'
cat >"$WORK/ca.ext" <<EXT
[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
EXT
openssl ca -batch -selfsign -config "$WORK/ca.cnf" -keyfile "$WORK/ca.key" -in "$WORK/ca.csr" \
  -out "$WORK/ca.crt" -notext -preserveDN -startdate 20240101000000Z -enddate 20500101000000Z \
  -extfile "$WORK/ca.ext" -extensions ca_ext 2>/dev/null

# issue <host (file name)> <common name> <rsa|ec> <san> <startdate> <enddate>
issue() {
  local host=$1 cn=$2 kind=$3 san=$4 start=$5 end=$6 ku
  if [ "$kind" = rsa ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/$host.key" 2>/dev/null
    ku='digitalSignature,keyEncipherment'
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/$host.key"
    ku='digitalSignature'
  fi
  openssl req -new -key "$WORK/$host.key" -out "$WORK/$host.csr" -subj "/C=US/O=Contoso Fixtures/CN=$cn"
  cat >"$WORK/$host.ext" <<EXT
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,$ku
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = $san
EXT
  openssl ca -batch -config "$WORK/ca.cnf" -in "$WORK/$host.csr" -out "$WORK/$host.crt" -notext \
    -preserveDN -startdate "$start" -enddate "$end" -extfile "$WORK/$host.ext" -extensions leaf 2>/dev/null
}

issue www.contoso.com www.contoso.com rsa 'DNS:www.contoso.com, DNS:contoso.com' 20250101000000Z 20450101000000Z
issue _.contoso.com '*.contoso.com' ec 'DNS:*.contoso.com, DNS:contoso.com' 20250101000000Z 20450101000000Z
issue expired.contoso.com expired.contoso.com rsa 'DNS:expired.contoso.com' 20200101000000Z 20210101000000Z
issue api.contoso.com api.contoso.com ec \
  'DNS:api.contoso.com, DNS:api.internal.contoso.com, DNS:contoso.net, IP:10.0.0.5, IP:2001:db8::5' \
  20250101000000Z 20450101000000Z

HOSTS='www.contoso.com _.contoso.com expired.contoso.com api.contoso.com'

# ---------------------------------------------------------------------------------------------
# PFX files. The friendly name (alias) is the host name; the CA certificate rides along.

# pfx <dir> <host> <password> [extra pkcs12 options...]
pfx() {
  local dir=$1 host=$2 pass=$3
  shift 3
  mkdir -p "$OUT/$dir"
  openssl pkcs12 -export -inkey "$WORK/$host.key" -in "$WORK/$host.crt" -certfile "$WORK/ca.crt" \
    -name "$host" -passout "pass:$pass" -out "$OUT/$dir/$host.pfx" "$@"
}

for host in $HOSTS; do
  pfx aes256 "$host" "$PASS"                                                         # OpenSSL 3 default
  pfx legacy "$host" "$PASS" -legacy                                                 # RC2-40 / 3DES / SHA-1
  pfx 3des "$host" "$PASS" -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1 # Windows Server 2016 style
done

H=www.contoso.com
pfx aes128 "$H" "$PASS" -certpbe AES-128-CBC -keypbe AES-128-CBC
pfx pbes2-3des "$H" "$PASS" -certpbe DES-EDE3-CBC -keypbe DES-EDE3-CBC -macalg sha1
pfx pbes2-rc2-40 "$H" "$PASS" -legacy -certpbe RC2-40-CBC
pfx rc2-128 "$H" "$PASS" -legacy -certpbe PBE-SHA1-RC2-128
pfx rc4-128 "$H" "$PASS" -legacy -certpbe PBE-SHA1-RC4-128
pfx 2des "$H" "$PASS" -certpbe PBE-SHA1-2DES -keypbe PBE-SHA1-3DES -macalg sha1
pfx sha512-mac "$H" "$PASS" -macalg sha512
pfx iter100k "$H" "$PASS" -iter 100000
# No MAC: the password can only be checked by decrypting the certificate bag (OpenSSL 3.0's
# -nomac alone leaves the certificates in clear, hence the explicit -certpbe).
pfx nomac "$H" "$PASS" -nomac -certpbe AES-256-CBC
pfx nomac-rc2-40 "$H" "$PASS" -nomac -legacy -certpbe PBE-SHA1-RC2-40
pfx nomac-clear-certs "$H" "$PASS" -nomac
pfx empty-password "$H" ''
pfx unprotected "$H" '' -nomac -certpbe NONE -keypbe NONE
# Certificates only (no key bag), CA first: the leaf is found as the first non-CA certificate.
mkdir -p "$OUT/certs-only"
openssl pkcs12 -export -nokeys -in "$WORK/ca.crt" -certfile "$WORK/$H.crt" -passout "pass:$PASS" \
  -out "$OUT/certs-only/$H.pfx"

# ---------------------------------------------------------------------------------------------
# expected.json: what openssl itself reads out of every file.

json_string() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

cert_json() { # <pem file>
  local pem=$1 subject issuer sha1 san from to serial
  subject=$(openssl x509 -in "$pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
  issuer=$(openssl x509 -in "$pem" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
  sha1=$(openssl x509 -in "$pem" -noout -fingerprint -sha1 | sed 's/^.*Fingerprint=//')
  san=$(openssl x509 -in "$pem" -noout -ext subjectAltName 2>/dev/null | sed -n '2,$p' | sed 's/^ *//' | tr -d '\n')
  from=$(openssl x509 -in "$pem" -noout -startdate -dateopt iso_8601 | sed 's/^notBefore=//')
  to=$(openssl x509 -in "$pem" -noout -enddate -dateopt iso_8601 | sed 's/^notAfter=//')
  serial=$(openssl x509 -in "$pem" -noout -serial | sed 's/^serial=//')
  printf '{ "subject": %s, "issuer": %s, "sha1": %s, "subjectAltName": %s, "notBefore": %s, "notAfter": %s, "serial": %s }' \
    "$(json_string "$subject")" "$(json_string "$issuer")" "$(json_string "$sha1")" \
    "$(json_string "$san")" "$(json_string "$from")" "$(json_string "$to")" "$(json_string "$serial")"
}

{
  echo '{'
  echo '  "password": "Fixture-Pa55!",'
  echo '  "files": ['
  first=1
  for f in $(cd "$OUT" && find . -name '*.pfx' | sed 's|^\./||' | sort); do
    case "$f" in
      empty-password/* | unprotected/*) pass='' ;;
      *) pass=$PASS ;;
    esac
    rm -f "$WORK"/c-*.pem
    openssl pkcs12 -legacy -in "$OUT/$f" -nokeys -passin "pass:$pass" -out "$WORK/all.pem"
    awk -v dir="$WORK" '/BEGIN CERTIFICATE/{n++} n{print > (dir "/c-" n ".pem")}' "$WORK/all.pem"
    leaf=$(openssl pkcs12 -legacy -in "$OUT/$f" -nokeys -clcerts -passin "pass:$pass" |
      openssl x509 -noout -fingerprint -sha1 2>/dev/null | sed 's/^.*Fingerprint=//' || true)
    [ $first = 1 ] || printf ',\n'
    first=0
    printf '    { "file": %s, "password": %s, "size": %d, "keyBagLeafSha1": %s, "certificates": [\n' \
      "$(json_string "$f")" "$(json_string "$pass")" "$(wc -c <"$OUT/$f")" \
      "$([ -n "$leaf" ] && json_string "$leaf" || echo null)"
    sep=''
    for c in $(ls "$WORK"/c-*.pem | sort -V); do
      printf '%s      %s' "$sep" "$(cert_json "$c")"
      sep=$',\n'
    done
    printf '\n    ] }'
  done
  printf '\n  ]\n'
  echo '}'
} >"$OUT/expected.json"

cat >"$OUT/README.md" <<'MD'
# PKCS#12 test fixtures

Generated by `scripts/make-pfx-fixtures.sh` with the OpenSSL 3 CLI. **Test keys only** — the
private keys are throw-away keys of a throw-away "Contoso Fixture Test CA"; never trust them.

Password of every protected file: `Fixture-Pa55!` (`empty-password/` and `unprotected/` use the
empty password).

| Directory | How it was made | Certificate bag | Key bag | MAC |
| --- | --- | --- | --- | --- |
| `aes256/` | OpenSSL 3 default | PBES2 AES-256-CBC (PBKDF2-HMAC-SHA256) | PBES2 AES-256-CBC | SHA-256 |
| `legacy/` | `-legacy` | PBE-SHA1-RC2-40 | PBE-SHA1-3DES | SHA-1 |
| `3des/` | `-certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1` | PBE-SHA1-3DES | PBE-SHA1-3DES | SHA-1 |
| `aes128/` | `-certpbe AES-128-CBC -keypbe AES-128-CBC` | PBES2 AES-128-CBC | PBES2 AES-128-CBC | SHA-256 |
| `pbes2-3des/` | `-certpbe DES-EDE3-CBC -keypbe DES-EDE3-CBC -macalg sha1` | PBES2 DES-EDE3-CBC | PBES2 DES-EDE3-CBC | SHA-1 |
| `pbes2-rc2-40/` | `-legacy -certpbe RC2-40-CBC` | PBES2 RC2-CBC, 40-bit (PBKDF2-HMAC-SHA256) | PBE-SHA1-3DES | SHA-1 |
| `rc2-128/` | `-legacy -certpbe PBE-SHA1-RC2-128` | PBE-SHA1-RC2-128 | PBE-SHA1-3DES | SHA-1 |
| `rc4-128/` | `-legacy -certpbe PBE-SHA1-RC4-128` | PBE-SHA1-RC4-128 | PBE-SHA1-3DES | SHA-1 |
| `2des/` | `-certpbe PBE-SHA1-2DES -keypbe PBE-SHA1-3DES -macalg sha1` | PBE-SHA1-2DES | PBE-SHA1-3DES | SHA-1 |
| `sha512-mac/` | `-macalg sha512` | PBES2 AES-256-CBC | PBES2 AES-256-CBC | SHA-512 |
| `iter100k/` | `-iter 100000` | PBES2 AES-256-CBC, 100,000 iterations | same | SHA-256, 100,000 iterations |
| `nomac/` | `-nomac -certpbe AES-256-CBC` | PBES2 AES-256-CBC | PBES2 AES-256-CBC | none |
| `nomac-rc2-40/` | `-nomac -legacy -certpbe PBE-SHA1-RC2-40` | PBE-SHA1-RC2-40 | PBE-SHA1-3DES | none |
| `nomac-clear-certs/` | `-nomac` (OpenSSL 3.0 then leaves the certificates in clear) | none | PBES2 AES-256-CBC | none |
| `empty-password/` | `-passout pass:` | PBES2 AES-256-CBC | PBES2 AES-256-CBC | SHA-256 (password `00 00`) |
| `unprotected/` | `-nomac -certpbe NONE -keypbe NONE` | none | clear keyBag | none |
| `certs-only/` | `-nokeys`, CA certificate first | PBES2 AES-256-CBC | (no key) | SHA-256 |

Certificates (issued by the test CA — RSA 2048, valid 2024–2050 — with `openssl ca`):

- `www.contoso.com` — RSA 2048, SAN `www.contoso.com`, `contoso.com`, valid 2025–2045
- `_.contoso.com` — CN `*.contoso.com`, EC P-256, SAN `*.contoso.com`, `contoso.com`, valid 2025–2045
- `expired.contoso.com` — RSA 2048, SAN `expired.contoso.com`, valid 2020-01-01 – 2021-01-01
- `api.contoso.com` — EC P-256, SAN `api.contoso.com`, `api.internal.contoso.com`,
  `contoso.net`, IP `10.0.0.5`, IP `2001:db8::5`, valid 2025–2045

The first three encodings exist for every host; the others only for `www.contoso.com`.
`expected.json` records, per file, what `openssl pkcs12 -nokeys` and `openssl x509` report
(subject and issuer in RFC 2253 form, SHA-1 thumbprint, SAN, validity, serial) and the
thumbprint of the certificate whose localKeyId matches the key (`-clcerts`).
MD

du -sh "$OUT"
find "$OUT" -name '*.pfx' | wc -l
