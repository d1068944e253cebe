#!/usr/bin/env bash
# End-to-end checks of the herald binary as an operator uses it: --version, check-config,
# sip-lint over the RFC 4475 set, and serve starting, logging its listeners and stopping
# cleanly on SIGINT and SIGTERM.
# Usage: cli_test.sh HERALD_BINARY SHARED_DIR SOURCE_DIR
set -uo pipefail
herald=$1
shared=$2
src=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
expect_status() {  # expect_status WANT DESCRIPTION CMD...
  local want=$1 what=$2; shift 2
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  if [[ $got -eq $want ]]; then pass "$what"; else
    fail "$what: exit $got, want $want"; sed 's/^/    /' "$work/out" "$work/err"; fi
}

expect_status 0 "--version" "$herald" --version
grep -q '^herald [0-9]' "$work/out" || fail "--version prints 'herald X.Y.Z'"
expect_status 0 "--help" "$herald" --help
grep -q 'sip-lint' "$work/out" || fail "--help lists sip-lint"
expect_status 2 "no subcommand is a usage error" "$herald"
expect_status 2 "unknown option is a usage error" "$herald" sip-lint --bogus x

# check-config
expect_status 0 "check-config on the shipped config" "$herald" check-config "$src/etc/herald.toml"
printf '[sip]\ndomains = [1]\n[[sip.listen]]\ntransport = "udp"\nport = 70000\n' >"$work/bad.toml"
expect_status 1 "check-config reports errors" "$herald" check-config "$work/bad.toml"
grep -q 'bad.toml:2: sip.domains\[0\]: must be a domain name' "$work/err" ||
  fail "check-config names the key and line"
grep -q 'sip.listen\[0\].port: must be between 0 and 65535, got 70000' "$work/err" ||
  fail "check-config reports every error"

# sip-lint over the torture set: valid messages ok, the malformed ones invalid.
msgs=$shared/testdata/rfc4475/messages
expect_status 0 "sip-lint accepts wsinv, esc01, inv2543, unreason" \
  "$herald" sip-lint "$msgs/wsinv.dat" "$msgs/esc01.dat" "$msgs/inv2543.dat" "$msgs/unreason.dat"
grep -q 'wsinv.dat: ok REQUEST INVITE sip:vivekg@chair-dnrc.example.com;unknownparam$' "$work/out" ||
  fail "sip-lint prints method and Request-URI"
grep -q 'unreason.dat: ok RESPONSE 200$' "$work/out" || fail "sip-lint prints the status code"
expect_status 1 "sip-lint rejects badvers" "$herald" sip-lint "$msgs/wsinv.dat" "$msgs/badvers.dat"
grep -q 'badvers.dat: invalid 505 Version Not Supported' "$work/out" || fail "505 for badvers"
expect_status 2 "sip-lint on a missing file" "$herald" sip-lint "$work/none.sip"

# serve: start, log listeners, stop on SIGINT and SIGTERM.
cat >"$work/node.toml" <<TOML
[node]
name = "cli-test"
data_dir = "data"
[sip]
domains = ["example.com"]
[[sip.listen]]
transport = "udp"
address = "127.0.0.1"
port = 15060
[admin]
port = 0
initial_password = "cli-test-admin-password"
TOML
for sig in INT TERM; do
  "$herald" serve --config "$work/node.toml" >"$work/serve.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q 'running' "$work/serve.out" && break
    sleep 0.1
  done
  if grep -q 'SIP listening on udp 127.0.0.1:15060' "$work/serve.out"; then pass "serve logs its listener"; else
    fail "serve logs its listener"; cat "$work/serve.out"; fi
  kill -$sig $pid
  wait $pid
  st=$?
  if [[ $st -eq 0 ]] && grep -q "SIG$sig received, shutting down" "$work/serve.out" &&
     grep -q 'node cli-test stopped' "$work/serve.out"; then
    pass "serve stops cleanly on SIG$sig"
  else
    fail "serve stops cleanly on SIG$sig (exit $st)"; cat "$work/serve.out"
  fi
done
[[ -s $work/data/tls/dev-cert.pem ]] && pass "serve generated a development certificate" ||
  fail "no development certificate under data/tls"
grep -q 'using development TLS certificate' "$work/serve.out" && pass "second start reuses it" ||
  fail "second start reuses the certificate"

printf '[node]\nname = 3\n' >"$work/broken.toml"
expect_status 1 "serve refuses a broken config" "$herald" serve --config "$work/broken.toml"
grep -q 'node.name: must be a string' "$work/err" || fail "serve names the bad key"

echo "$failures failure(s)"
[[ $failures -eq 0 ]]
