"""Scrapy's own commands in a checkout (scrapy.cfg -> crawler.project_settings): `scrapy list`,
`scrapy parse` on a real fda.gov letter page (the spider's items as it yields them), and
`scrapy crawl ... -O` exporting a letters crawl of a replayed fda.gov through the pipelines that
need no store (tags added), with the configuration's [crawl] table and no store written."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from crawler.normalize.letters import LETTERS_PATH
from tests.fda_site import REAL_PAGES, FdaSite, site_letters, write_config
from tests.replay import ReplayServer, saved_file

ROOT = Path(__file__).resolve().parents[2]
SCRAPY = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "scrapy"
CHARA = "chara-biologics-inc-698004-01172025"


def scrapy(config: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(SCRAPY) if SCRAPY.exists() else "scrapy", *args]
    env = {k: v for k, v in os.environ.items() if k != "EXOWATCH_DATABASE_URL"}
    env["EXOWATCH_CONFIG"] = str(config)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_scrapy_list_names_every_spider(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[crawl]\ncontact = "ops@example.org"\n', encoding="utf-8")
    done = scrapy(config, "list")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["clinic_listings", "clinic_sites", "fda_notices", "fda_warning_letters"]


def test_scrapy_parse_reads_a_real_letter_page(tmp_path):
    with ReplayServer() as server:
        path = f"{LETTERS_PATH}{CHARA}"
        server.routes[path] = saved_file(REAL_PAGES / f"{CHARA}.html")
        config = write_config(tmp_path / "config.toml", server, f"sqlite:///{tmp_path / 'unused.db'}")
        done = scrapy(config, "parse", "--spider=fda_warning_letters", "--nolog", server.base_url + path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "'company_name': 'Chara Biologics, Inc.'" in done.stdout
    assert "'marcs_cms_number': '698004'" in done.stdout and "CharaExo" in done.stdout
    assert not (tmp_path / "unused.db").exists()


def test_scrapy_crawl_exports_the_letters_crawl_items(tmp_path):
    with ReplayServer() as server:
        fda = FdaSite(server, site_letters())
        config = write_config(tmp_path / "config.toml", server, f"sqlite:///{tmp_path / 'unused.db'}")
        out = tmp_path / "items.jsonl"
        done = scrapy(
            config, "crawl", "fda_warning_letters", "-a", f"base_url={server.base_url}",
            "-a", "page_size=4", "-a", "full=true", "-O", str(out), "--loglevel=WARNING",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    listed = {item["slug"] for item in items if "row" in item}
    pages = [item for item in items if "page" in item]
    assert listed == {letter.slug for letter in fda.letters}
    assert {item["page"]["slug"] for item in pages} == listed
    assert all(item["tags"] is not None for item in pages)
    assert any(tag["tag"] == "exosome" for item in pages for tag in item["tags"])
    assert not (tmp_path / "unused.db").exists()  # an export writes no store
