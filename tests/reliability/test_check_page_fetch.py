"""`check-page URL` fetches as a crawl does: the URL gate on every redirect hop (no connection to a
forbidden listener), `[crawl] allow_hosts` and the proxy honoured, one deadline for the whole
fetch (a server dripping bytes cannot hold it), the size limit. Loopback servers only."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from monitor.cli import main
from monitor.errors import InputError
from monitor.rules.pages import MAX_BYTES, read_page
from tests.replay import ReplayServer, static

OFFER = (
    b"<html><head><title>Exosome IV therapy</title></head><body><h1>Exosome IV therapy</h1>"
    b"<p>Our exosome IV infusions for knee arthritis. $1,500 per session. Book now.</p></body></html>"
)


def redirect(location: str):
    return lambda _query: (302, {"Location": location}, b"")


def config_file(tmp_path, **crawl) -> str:
    path = tmp_path / "config.toml"
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in crawl.items())
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n\n[crawl]\n{lines}', encoding="utf-8")
    return str(path)


@pytest.fixture
def site(tripwire):
    """The allow-listed site; its redirects go to the tripwire's port (127.0.0.1, 127.0.0.2, ::1)."""
    with ReplayServer() as server:
        port = tripwire.port
        server.routes.update(
            {
                "/treatments/exosome-iv": static(OFFER),
                "/r/ok": redirect("/treatments/exosome-iv"),
                "/r/loopback-other-port": redirect(f"http://127.0.0.1:{port}/secret"),
                "/r/localhost": redirect(f"http://localhost:{port}/secret"),
                "/r/v6": redirect(f"http://[::1]:{port}/secret"),
                "/r/127.0.0.2": redirect(f"http://127.0.0.2:{port}/secret"),
                "/r/ftp": redirect(f"ftp://127.0.0.1:{port}/secret"),
                "/r/metadata": redirect("http://169.254.169.254/latest/meta-data/"),
                "/r/loop": redirect("/r/loop"),
                "/big": static(b"<html><body>" + b"x" * (MAX_BYTES + 10) + b"</body></html>"),
            }
        )
        yield server


def test_an_allow_listed_page_is_fetched_followed_and_judged(site, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    config = config_file(tmp_path, allow_hosts=[site.host])
    assert main(["--config", config, "check-page", f"{site.base_url}/r/ok", "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["flag"] is True and verdict["severity"] == "high"
    assert site.requests == ["/r/ok", "/treatments/exosome-iv"]


@pytest.mark.parametrize(
    "hop", ["/r/loopback-other-port", "/r/localhost", "/r/v6", "/r/127.0.0.2", "/r/ftp", "/r/metadata"]
)
def test_a_redirect_to_a_forbidden_address_is_refused_before_any_connection(
    site, tripwire, hop, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    config = config_file(tmp_path, allow_hosts=[site.host])
    assert main(["--config", config, "check-page", f"{site.base_url}{hop}"]) == 2
    error = capsys.readouterr().err.strip()
    assert "refused by the URL gate" in error and "\n" not in error, error
    assert tripwire.count() == 0
    assert site.requests == [hop]


def test_without_allow_hosts_loopback_is_refused_at_the_first_hop(site, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    config = config_file(tmp_path)
    assert main(["--config", config, "check-page", f"{site.base_url}/treatments/exosome-iv"]) == 2
    assert "refused by the URL gate (127.0.0.1 is loopback)" in capsys.readouterr().err
    assert site.requests == []


def test_redirect_loops_and_huge_pages_end_with_one_line(site):
    with pytest.raises(InputError, match="more than 5 redirects"):
        read_page(f"{site.base_url}/r/loop", user_agent="t", allow_hosts=(site.host,))
    with pytest.raises(InputError, match=f"larger than {MAX_BYTES} bytes"):
        read_page(f"{site.base_url}/big", user_agent="t", allow_hosts=(site.host,))


class Drip:
    """A server answering one byte every 0.2 s for a minute: only an overall deadline ends it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sent = 0
        self.cut = threading.Event()  # the client closed the connection before the end
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(4096)
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + b"<p>exosome</p>" * 30
            stop = threading.Event()
            for byte in answer:
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    self.cut.set()
                    return
                self.sent += 1
                if stop.wait(0.2):
                    return
            self.cut.clear()

    def __enter__(self) -> Drip:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.listener.close()


def test_a_dripping_server_is_cut_at_the_deadline(tmp_path):
    with Drip() as drip:
        host = f"127.0.0.1:{drip.port}"
        with pytest.raises(InputError, match=r"no complete answer within 1\.5 s"):
            read_page(f"http://{host}/slow", user_agent="t", allow_hosts=(host,), deadline_seconds=1.5)
        drip.thread.join(timeout=10)
    assert drip.cut.is_set() or not drip.thread.is_alive()
    assert drip.sent < 100  # far short of its answer: the fetch did not wait for it


def test_the_proxy_is_used_and_judged_as_in_a_crawl(tmp_path, monkeypatch, capsys):
    """A proxy (a replay server answering absolute URIs) carries the request; the target's name is
    allow-listed (*.example), so the gate lets it through without DNS, as a crawl's gate does."""
    with ReplayServer() as proxy:
        proxy.routes["/treatments/exosome-iv"] = static(OFFER)
        monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
        config = config_file(tmp_path, allow_hosts=["*.example", proxy.host], proxy=proxy.base_url)
        url = "http://glowclinic.example/treatments/exosome-iv"
        assert main(["--config", config, "check-page", url, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["flag"] is True
        assert proxy.requests == [url]  # the absolute URI: it went through the proxy
        # a proxy the gate does not allow is not connected to
        config = config_file(tmp_path, allow_hosts=["*.example"], proxy=proxy.base_url)
        assert main(["--config", config, "check-page", url]) == 2
        assert "refused by the URL gate (127.0.0.1 is loopback)" in capsys.readouterr().err
        assert proxy.requests == [url]
