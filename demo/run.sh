#!/usr/bin/env bash
# `make demo`: the offline pipeline on the embedded SQLite default, from a fresh store.
# Usage: demo/run.sh PATH-TO-exowatch
set -euo pipefail
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

step "crawl FDA's warning-letter listing and letter pages, replayed on loopback (offline)"
python="$(dirname "$exowatch")/python"
exec 3< <("$python" "$here/serve_fda.py")
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
read -r base_url <&3
cat > "$here/out/crawl.toml" <<TOML
# Written by demo/run.sh: the demo store, and the replay server it started on $base_url.
[database]
url = "sqlite:///$here/out/exowatch.db"
[crawl]
allow_hosts = ["${base_url#http://}"]
download_delay_seconds = 0
autothrottle = false
retries = 0
[sources.fda_warning_letters]
base_url = "$base_url"
page_size = 5
[sources.fda_notices]
base_url = "$base_url"
feeds = [
  "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/medwatch/rss.xml",
  "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/biologics/rss.xml",
  "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/food-safety-recalls/rss.xml",
]
index_pages = ["https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics"]
TOML
"$exowatch" --config "$here/out/crawl.toml" crawl fda_warning_letters --full

step "crawl FDA's safety feeds, their alert pages and CBER's index page (replayed, offline)"
"$exowatch" --config "$here/out/crawl.toml" crawl fda_notices

step "crawling the feeds again finds nothing new"
"$exowatch" --config "$here/out/crawl.toml" crawl fda_notices

step "status"
"$exowatch" status

step "analysts query the store directly: letters per canonical office"
"$(dirname "$exowatch")/python" - "$here/out/exowatch.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(
    "SELECT issuing_office, COUNT(*) FROM warning_letters GROUP BY 1 ORDER BY 2 DESC LIMIT 6"
).fetchall()
for office, count in rows:
    print(f"  {count:>4}  {office}")
print("letters tagged exosome, with the phrases that triggered the tag and the products named:")
rows = db.execute(
    "SELECT company_name, json_extract(tag_phrases, '$.exosome'), product_names FROM warning_letters"
    " WHERE EXISTS (SELECT 1 FROM json_each(warning_letters.tags) WHERE value = 'exosome')"
).fetchall()
for company, phrases, products in rows:
    print(f"  {company}: {phrases}; products {products}")
print("FDA notices about exosome products, with the feeds that carried them:")
rows = db.execute(
    "SELECT COALESCE(posted_date, substr(published_at, 1, 10)), notice_type, title, feeds FROM notices"
    " WHERE EXISTS (SELECT 1 FROM json_each(notices.tags) WHERE value = 'exosome') ORDER BY 1"
).fetchall()
for day, kind, title, feeds in rows:
    print(f"  {day}  {kind:<14} {title}")
    print(f"  {'':10}  carried by {len(json.loads(feeds))}: {', '.join(f.split('/')[-2] if f.endswith('rss.xml') else 'index' for f in json.loads(feeds))}")
PY
printf '\nthe store is at %s\n' "$here/out/exowatch.db"
