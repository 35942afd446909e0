#!/usr/bin/env bash
# Cleans the bundled samples with domain verification against a lab DNS server that this
# script starts on 127.0.0.1 (serving samples/dns), so it works on a machine with no
# internet. Outputs go to demo-output/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRIPT=demo
# shellcheck source=scripts/common.sh
source scripts/common.sh

release_build "listclean and the lab DNS server" --bin listclean --example labdns
release=${CARGO_TARGET_DIR:-target}/release
out=demo-output
mkdir -p "$out"
port_file=$(mktemp -u)
"$release"/examples/labdns --zones samples/dns --port-file "$port_file" >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 100); do
  [ -s "$port_file" ] && break
  sleep 0.1
done
[ -s "$port_file" ] || { echo "the lab DNS server did not start" >&2; exit 1; }
resolver=$(cat "$port_file")
echo "lab DNS server on $resolver (zones: samples/dns)"

for sample in samples/crm_export_ja.csv samples/contacts_en.csv; do
  echo
  echo "== listclean clean $sample --resolver $resolver"
  "$release"/listclean clean "$sample" -o "$out" --resolver "$resolver" --dns-timeout 1 --dns-attempts 1
done
echo
echo "Outputs are in $out/: open the .cleaned.csv and .rejected.csv files in Excel, or read the .report.json."
