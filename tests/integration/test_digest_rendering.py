"""The digest e-mail as a person sees it: its HTML part rendered by headless Chromium (Debian's
`chromium`) shows every section; a screenshot is taken and must not be blank. With CI=true a
missing Chromium is a failure; elsewhere the test is skipped."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from alerts.digest import Digest, Item
from alerts.render import render_html
from tests.conftest import IN_CI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def digest() -> Digest:
    return Digest(
        channel="analysts",
        first_event_id=1,
        last_event_id=9,
        sections={
            "letters": (
                Item(
                    1,
                    "letter.new",
                    "Kimera Labs, Inc.",
                    "https://www.fda.gov/x",
                    ("Unapproved products", "Tags: exosome", "Products named: XoGlo, XoGlo Pro"),
                    ("exosome",),
                    relevant=True,
                ),
            ),
            "notices": (
                Item(
                    2,
                    "notice.new",
                    "Public Safety Notification on Exosome Products",
                    "https://www.fda.gov/y",
                    ("Posted 2019-12-06",),
                    ("exosome",),
                    relevant=True,
                ),
            ),
            "flags": (
                Item(
                    3,
                    "flag.opened",
                    "Glow <script>alert(1)</script> Clinic (US)",
                    "http://glow.example/iv",
                    ("high - exosome_route (flagged)", "\u201cExosome IV infusions for knee arthritis\u201d"),
                    severity="high",
                ),
                Item(
                    4,
                    "flag.resolved",
                    "Skin Studio (GB)",
                    "javascript:alert(1)",
                    ("medium - exosome_cosmetic (resolved)",),
                    severity="medium",
                ),
            ),
            "sources": (Item(5, "source.failing", "fda_notices", None, ("feed medwatch: HTTP 503",)),),
        },
    )


def chromium() -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("CI=true: chromium is required to render the digest")
        pytest.skip("chromium is not installed")
    return CHROMIUM


def test_every_section_shows_in_the_rendered_email_and_the_screenshot_is_not_blank(tmp_path):
    browser = chromium()
    page = tmp_path / "digest.html"
    page.write_text(render_html(digest()), encoding="utf-8")
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
    ]
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    for heading in (
        "FDA warning letters (1)",
        "FDA safety notices (1)",
        "Clinics flagged (2)",
        "Source health (1)",
    ):
        assert heading in dom
    assert "<script>alert(1)</script>" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert 'href="javascript' not in dom
    shot = tmp_path / "digest.png"
    subprocess.run(
        [*common, "--window-size=800,1300", f"--screenshot={shot}", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    width, height, distinct = png_summary(shot)
    assert (width, height) == (800, 1300)
    assert distinct >= 8  # text, links, the severity bars: not a blank page


def png_summary(path: Path) -> tuple[int, int, int]:
    """Width, height and the number of distinct pixel rows (a blank page has one)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, position = [], 8
    while position < len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    raw = zlib.decompress(b"".join(chunks))
    stride = len(raw) // height
    rows = {raw[i * stride + 1 : (i + 1) * stride] for i in range(height)}
    return width, height, len(rows)
