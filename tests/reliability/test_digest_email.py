"""Digests by e-mail through a real SMTP server (aiosmtpd on loopback), and RSS/Atom files:
what is new goes out once, an SMTP outage loses nothing, hostile page text arrives escaped."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

import feedparser
import pytest
from sqlalchemy import select

from db.models import Delivery, Event
from db.records import ClinicRecord, LetterRecord, PageRecord
from db.store import Store
from monitor.cli import main
from monitor.flagging import run_flagger
from tests.reliability.audit import audit
from tests.smtp_inbox import free_port

HOSTILE_NAME = "Glow <script>alert(1)</script>\r\nBcc: victim@example.org ]]> \x07Clinic"
HOSTILE_PAGE = (
    "Exosome IV infusions for knee arthritis <script>alert('x')</script> "
    '<a href="javascript:alert(1)" onclick="steal()">book</a> ]]> \x01\x02 $1,500 per session. Book now.'
)


def write_config(path, db_url: str, port: int) -> None:
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        '[[channels]]\nname = "analysts"\nkind = "email"\nto = ["analysts@example.org", "desk@example.org"]\n'
        f'sender = "exowatch@example.org"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n\n'
        '[[channels]]\nname = "public"\nkind = "feed"\nfeed_dir = "feeds"\nfeed_title = "exowatch public feed"\n',
        encoding="utf-8",
    )


def seed(store: Store) -> None:
    now = datetime.now(UTC)
    store.upsert_letters(
        [
            LetterRecord(
                slug="kimera-labs-inc-649343-09012023",
                url="https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/kimera-labs-inc-649343-09012023",
                company_name="Kimera Labs, Inc.",
                subject="Unapproved products",
                tags=["exosome", "regenerative"],
                product_names=["XoGlo", "XoGlo Pro"],
            )
        ],
        source="test",
    )
    store.upsert_clinics(
        [ClinicRecord("glow.example", name=HOSTILE_NAME, domain="glow.example", country="US")],
        source="t",
        seen_at=now,
    )
    url = "http://glow.example/exosome-iv"
    store.upsert_pages(
        [
            PageRecord(
                url=url, title="IV", text=HOSTILE_PAGE, content_hash="h1", fetched_at=now, checked_at=now
            )
        ],
        clinic_keys={url: "glow.example"},
        html={url: (HOSTILE_PAGE.encode(), "utf-8")},
        source="test",
    )
    run_flagger(store)


def render_in_chromium(html: str, folder) -> str | None:
    """The DOM Chromium builds from `html`; None when Chromium is missing (a failure with CI=true)."""
    import shutil
    import subprocess

    from tests.conftest import IN_CI

    browser = shutil.which("chromium")
    if browser is None:
        assert not IN_CI, "CI=true: chromium is required to render the digest"
        return None
    page = folder / "received.html"
    page.write_text(html, encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def untold(store: Store, channel: str) -> int:
    """Events no sent delivery of `channel` covers."""
    with store.engine.connect() as connection:
        events = list(connection.scalars(select(Event.id)))
        sent = connection.execute(
            select(Delivery.first_event_id, Delivery.last_event_id).where(
                Delivery.channel == channel, Delivery.status == "sent"
            )
        ).all()
    return sum(1 for event in events if not any(first <= event <= last for first, last in sent))


def deliveries(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        return [
            (r.channel, r.status)
            for r in connection.execute(Delivery.__table__.select().order_by(Delivery.id))
        ]


def test_a_digest_goes_out_once_escaped_and_an_outage_loses_nothing(
    db_url, tmp_path, smtp, monkeypatch, capsys, probe
):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    config = tmp_path / "config.toml"
    write_config(config, db_url, smtp.port)
    assert main(["--config", str(config), "init"]) == 0
    store = Store.open(db_url)
    try:
        seed(store)
        # the SMTP server is down: nothing is lost, the cursor stays
        write_config(config, db_url, free_port())
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) == 1
        assert "digest not sent: analysts" in capsys.readouterr().err
        assert store.channel_cursor("analysts") == 0
        # back up at once: the channel waits out its backoff (1 minute after one failure), sends nothing
        write_config(config, db_url, smtp.port)
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) == 0
        assert "analysts: waiting: 1 failed sends" in capsys.readouterr().out and smtp.messages == []
        # after the backoff: one digest holds everything
        monkeypatch.setattr("alerts.run.BACKOFF_FIRST_SECONDS", 0)
        assert main(["--config", str(config), "digest"]) == 0
        out = capsys.readouterr().out
        assert "analysts: sent" in out and "public: sent" in out
        assert probe.duplicates(len(smtp.messages) - 1) == 0
        assert probe.lost(untold(store, "analysts")) == 0  # every event up to now is in the digest
        message = email.message_from_bytes(smtp.messages[0], policy=policy.default)
        # two flags of one clinic: one clinic flagged
        assert message["Subject"].startswith("exowatch analysts: 1 FDA warning letter, 1 clinic flagged")
        assert message["Message-ID"].startswith("<exowatch.analysts.1-")
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for section in ("FDA warning letters", "Clinics flagged"):
            assert section in text and section in html
        assert "XoGlo" in text and "Tags: exosome" in text
        # the HTML part as a person sees it: rendered by headless Chromium, every section shows
        rendered = render_in_chromium(html, tmp_path)
        if rendered is not None:
            for section in ("FDA warning letters (1)", "Clinics flagged (1)"):
                assert section in rendered
            assert "<script>alert(1)</script>" not in rendered
        # hostile text: escaped in HTML, never a header, no control characters
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert 'href="javascript' not in html
        assert 'onclick="' not in html
        assert "\x07" not in text and "\x01" not in html
        assert message["Bcc"] is None and "victim@example.org" not in message["To"]
        # nothing new: nothing sent
        assert main(["--config", str(config), "digest"]) == 0
        assert "analysts: nothing" in capsys.readouterr().out and len(smtp.messages) == 1
        # the feeds parse back and keep their GUIDs when written again
        rss = tmp_path / "feeds" / "public.rss.xml"
        atom = tmp_path / "feeds" / "public.atom.xml"
        first = feedparser.parse(rss.read_bytes())
        assert not first.bozo and len(first.entries) >= 3
        assert not feedparser.parse(atom.read_bytes()).bozo
        assert "<script>" not in rss.read_text("utf-8")
        guids = [e.id for e in first.entries]
        store.upsert_letters(
            [
                LetterRecord(
                    slug="acme-1-01012024", url="https://www.fda.gov/x/acme-1-01012024", company_name="Acme"
                )
            ],
            source="test",
        )
        assert main(["--config", str(config), "digest", "--channel", "public"]) == 0
        again = feedparser.parse(rss.read_bytes())
        assert set(guids) <= {e.id for e in again.entries} and len(again.entries) == len(guids) + 1
        assert ("analysts", "failed") in deliveries(store) and ("analysts", "sent") in deliveries(store)
    finally:
        store.close()


def test_a_crash_between_send_and_record_sends_at_most_one_duplicate_with_the_same_message_id(
    db_url, tmp_path, smtp, monkeypatch, capsys, probe
):
    """The one window no delivery record can close: the server took the message and the process
    died before recording it. The next run sends the same message again, with the same
    Message-ID (receiving systems drop a repeat by it): one message, counted once here; a
    second digest, or events told twice, would be duplicates."""
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    config = tmp_path / "config.toml"
    write_config(config, db_url, smtp.port)
    assert main(["--config", str(config), "init"]) == 0
    store = Store.open(db_url)
    try:
        seed(store)
        import alerts.run as run

        real = store.finish_delivery

        def die_after_send(delivery_id, status, error=None):
            raise KeyboardInterrupt  # the process is killed after the send, before recording it

        monkeypatch.setattr(Store, "finish_delivery", lambda self, *a, **k: die_after_send(*a, **k))
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) != 0
        assert store.pending_delivery("analysts") is not None and len(smtp.messages) == 1
        monkeypatch.setattr(Store, "finish_delivery", lambda self, *a, **k: real(*a, **k))
        capsys.readouterr()
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) == 0
        assert len(smtp.messages) == 2  # one duplicate at most
        said = capsys.readouterr().out  # the CLI says a message went out, not "nothing"
        assert said.startswith("analysts: resent: resent the digest a stopped run left unsent (events 1 to ")
        assert "nothing: no new events" in said
        ids = {email.message_from_bytes(m, policy=policy.default)["Message-ID"] for m in smtp.messages}
        assert probe.duplicates(len(ids) - 1) == 0
        found = audit(db_url)
        assert probe.duplicates(found.duplicates) == 0, found.surplus
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) == 0
        assert len(smtp.messages) == 2
        del run
    finally:
        store.close()


def test_serve_feed_serves_only_the_feed_files(tmp_path):
    import threading
    import urllib.error
    import urllib.request

    from alerts.serve import make_server
    from monitor.config import load_config

    config_path = tmp_path / "config.toml"
    write_config(config_path, "sqlite:///unused.db", 25)
    config = load_config(config_path, env={})
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "public.rss.xml").write_bytes(
        b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    )
    server = make_server(config, tmp_path, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/public.rss.xml") as answer:
            assert answer.headers["Content-Type"].startswith("application/rss+xml")
            assert answer.read().startswith(b"<rss")
        for path in ("/public.atom.xml", "/config.toml", "/../config.toml", "/feeds/public.rss.xml", "/"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path)
            assert refused.value.code == 404
            refused.value.close()
    finally:
        server.shutdown()
        server.server_close()


def test_high_flags_go_out_at_once_and_are_not_told_twice(db_url, tmp_path, smtp, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    config = tmp_path / "config.toml"
    write_config(config, db_url, smtp.port)
    config.write_text(
        config.read_text().replace(
            'smtp_security = "none"\n', 'smtp_security = "none"\nimmediate_high = true\n'
        )
    )
    assert main(["--config", str(config), "init"]) == 0
    store = Store.open(db_url)
    try:
        seed(store)
        assert main(["--config", str(config), "digest", "--urgent"]) == 0
        assert "analysts-urgent: sent" in capsys.readouterr().out
        urgent = email.message_from_bytes(smtp.messages[0], policy=policy.default)
        assert urgent["Subject"] == "exowatch analysts-urgent: 1 clinic flagged"
        assert main(["--config", str(config), "digest", "--channel", "analysts"]) == 0
        regular = email.message_from_bytes(smtp.messages[1], policy=policy.default)
        assert regular["Subject"] == "exowatch analysts: 1 FDA warning letter"  # the flags went out already
        assert main(["--config", str(config), "digest", "--urgent"]) == 0
        assert len(smtp.messages) == 2
    finally:
        store.close()


def test_a_chat_or_webhook_channel_through_apprise(db_url, tmp_path, monkeypatch, capsys):
    import json as _json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(_json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "{db_url}"\n\n[[channels]]\nname = "chat"\nkind = "apprise"\n'
        'apprise_urls_env = "EXOWATCH_TEST_HOOKS"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "init"]) == 0
    store = Store.open(db_url)
    try:
        seed(store)
        monkeypatch.setattr("alerts.run.BACKOFF_FIRST_SECONDS", 0)
        monkeypatch.setenv("EXOWATCH_TEST_HOOKS", f"json://127.0.0.1:{free_port()}/down")
        assert main(["--config", str(config), "digest"]) == 1  # the hook is down: nothing moves
        assert store.channel_cursor("chat") == 0
        monkeypatch.setenv("EXOWATCH_TEST_HOOKS", f"json://127.0.0.1:{server.server_address[1]}/hook")
        assert main(["--config", str(config), "digest"]) == 0
        assert len(received) == 1
        assert received[0]["title"].startswith("exowatch chat: 1 FDA warning letter, 1 clinic flagged")
        assert "Kimera Labs" in received[0]["message"] and "<script>" in received[0]["message"]  # plain text
        assert main(["--config", str(config), "digest"]) == 0 and len(received) == 1
    finally:
        store.close()
        server.shutdown()
        server.server_close()
    capsys.readouterr()
