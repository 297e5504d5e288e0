#!/bin/sh
# `make demo`: the offline pipeline on the embedded SQLite default, from a fresh store.
# Usage: demo/run.sh PATH-TO-exowatch
set -eu
exowatch=${1:-exowatch}
here=$(cd "$(dirname "$0")" && pwd)
export EXOWATCH_CONFIG="$here/config.toml"
unset EXOWATCH_DATABASE_URL

step() { printf '\n== %s\n' "$*"; }

rm -rf "$here/out"
mkdir -p "$here/out"

step "create the store"
"$exowatch" init

step "backfill warning letters from two real listing exports that overlap"
"$exowatch" import-letters "$here/data/listing_sample.csv" "$here/data/listing_sample.json"

step "FDA's XLSX export adds close-out dates (three rows have no link and are matched)"
"$exowatch" import-letters "$here/data/fda_export_sample.xlsx"

step "importing everything again changes nothing and emits no event"
"$exowatch" import-letters "$here/data/listing_sample.csv" "$here/data/listing_sample.json" \
    "$here/data/fda_export_sample.xlsx"

step "status"
"$exowatch" status

step "analysts query the store directly: letters per canonical office"
"$(dirname "$exowatch")/python" - "$here/out/exowatch.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT issuing_office, COUNT(*) FROM warning_letters GROUP BY 1 ORDER BY 2 DESC LIMIT 6"
).fetchall()
for office, count in rows:
    print(f"  {count:>4}  {office}")
PY
printf '\nthe store is at %s\n' "$here/out/exowatch.db"
