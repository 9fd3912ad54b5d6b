"""``polo-fast colo``: trace parsing (real-world shapes, odd ones, garbage), CLI end to end."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Iterator

import pytest

from polo_fast.bench import main_colo
from polo_fast.bench.colo import verdict
from polo_fast.bench.trace import CITIES, TraceError, colo_info, parse_trace
from polo_fast.testing.exchange import StandInExchange
from tests.conftest import make_keys

# Shaped like www.cloudflare.com/cdn-cgi/trace answers (addresses from documentation ranges).
REAL_IAD = (
    b"fl=29f123\nh=www.cloudflare.com\nip=203.0.113.7\nts=1732580000.123\nvisit_scheme=https\n"
    b"uag=Mozilla/5.0 (X11; Linux x86_64) polo-fast/0.1\ncolo=IAD\nsliver=none\nhttp=http/2\n"
    b"loc=US\ntls=TLSv1.3\nsni=plaintext\nwarp=off\ngateway=off\nrbi=off\nkex=X25519\n"
)
SPEC_SAMPLE = (
    "fl=123f45\nh=www.cloudflare.com\nip=203.0.113.7\nts=1700000000.123\nvisit_scheme=https\n"
    "uag=polo-fast/0.1\ncolo=IAD\nhttp=http/2\nloc=US\ntls=TLSv1.3\nsni=plaintext\nwarp=off\n"
)


def test_parses_real_shaped_trace() -> None:
    t = parse_trace(REAL_IAD)
    assert t["colo"] == "IAD"
    assert t["ip"] == "203.0.113.7"
    assert t["kex"] == "X25519"
    assert t["uag"] == "Mozilla/5.0 (X11; Linux x86_64) polo-fast/0.1"
    assert len(t) == 16
    assert parse_trace(SPEC_SAMPLE)["tls"] == "TLSv1.3"


def test_crlf_blank_lines_bom_and_lowercase_colo() -> None:
    body = "\ufeff\r\nfl=1\r\n\r\nh=example.com\r\ncolo=fra\r\n\r\n".encode()
    t = parse_trace(body)
    assert t == {"fl": "1", "h": "example.com", "colo": "FRA"}


def test_missing_colo_and_extra_keys() -> None:
    t = parse_trace(b"fl=1\nh=x\nip=198.51.100.1\nfuture_key=some value\nx.y-z=1\n")
    assert "colo" not in t
    assert t["future_key"] == "some value"
    info = colo_info(t)
    assert info.colo is None and info.in_iad is None
    text, profile = verdict(info, None)
    assert "unknown" in text and profile is None


def test_value_with_equals_and_no_final_newline() -> None:
    t = parse_trace(b"uag=a=b=c\ncolo=EWR")
    assert t["uag"] == "a=b=c"
    assert t["colo"] == "EWR"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "empty"),
        (b" \r\n\n\t\n", "empty"),
        (b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title>", "HTML"),
        (b"fl=1\ncolo=IAD\n<html>", "HTML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"\xff\xfe\xfd\xfc", "binary"),
        (b"fl=1\x00\ncolo=IAD\n", "binary"),
        (b'{"colo": "IAD"}', "not key=value"),
        (b"colo=IAD\nthis is not a trace\n", "not key=value"),
        (b"a=1\nb=2\n", "none of a trace's keys"),
        (b"=IAD\n", "not key=value"),
        (b"colo=IAD\n" * 10000, "bytes"),
    ],
)
def test_refuses_garbage(body: bytes, why: str) -> None:
    with pytest.raises(TraceError, match=why):
        parse_trace(body)


def test_colo_info_and_verdicts() -> None:
    iad = colo_info({"colo": "IAD"})
    assert iad.in_iad is True and iad.city == "Ashburn, VA"
    text, profile = verdict(iad, None)
    assert text.startswith("in IAD") and profile == "iad"

    fra = colo_info({"colo": "FRA"})
    assert fra.in_iad is False and fra.city == "Frankfurt"
    assert fra.est_extra_rtt_ms is not None and 70 < fra.est_extra_rtt_ms < 110
    text, profile = verdict(fra, None)
    assert text.startswith("not in IAD") and "Frankfurt" in text and profile == "frankfurt"

    nrt = colo_info({"colo": "NRT"})
    assert verdict(nrt, None)[1] == "tokyo"
    assert verdict(colo_info({"colo": "EWR"}), None)[1] == "nyc"
    assert verdict(colo_info({"colo": "ORD"}), None)[1] == "chicago"

    odd = colo_info({"colo": "ZZZ"})
    assert odd.in_iad is False and odd.city is None and odd.est_extra_rtt_ms is None
    assert "no distance" in verdict(odd, None)[0]
    for code in ("IAD", "EWR", "JFK", "ORD", "FRA", "AMS", "LHR", "NRT", "SIN", "HKG"):
        assert code in CITIES


# -- end to end ------------------------------------------------------------------------------


@contextlib.contextmanager
def _http_server(status: int, body: bytes, ctype: str = "text/plain") -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("colo", ["IAD", "FRA"])
def test_cli_against_stand_in(colo: str, capsys: pytest.CaptureFixture[str]) -> None:
    with StandInExchange(keys=make_keys(1), colo=colo).running() as ex:
        rc = main_colo(
            [
                "--url", ex.url + "/cdn-cgi/trace", "--api-url", ex.url,
                "--ca-path", str(ex.ca_path), "--samples", "2", "--json",
            ]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    doc = json.loads(out)
    assert doc["colo"] == colo
    assert doc["in_iad"] is (colo == "IAD")
    assert doc["nearest_profile"] == ("iad" if colo == "IAD" else "frankfurt")
    api = doc["api"]
    assert api["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert api["http_status"] == 200
    for phase in ("tcp_connect_ms", "tls_handshake_ms", "first_request_ms", "http_rtt_ms"):
        assert len(api[phase]["samples"]) == 2
        assert api[phase]["median"] >= 0
    assert doc["verdict"].startswith("in IAD" if colo == "IAD" else "not in IAD")


def test_cli_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    with StandInExchange(keys=make_keys(1)).running() as ex:
        rc = main_colo(
            ["--url", ex.url + "/cdn-cgi/trace", "--api-url", ex.url,
             "--ca-path", str(ex.ca_path), "--samples", "1"]
        )  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert "IAD (Ashburn, VA)" in out
    assert "TCP connect" in out and "TLS handshake" in out and "verdict" in out


def test_cli_untrusted_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    with StandInExchange(keys=make_keys(1)).running() as ex:
        rc = main_colo(["--url", ex.url + "/cdn-cgi/trace", "--no-api"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "not trusted" in err and "--ca-path" in err


def test_cli_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main_colo(["--url", f"http://127.0.0.1:{_closed_port()}/cdn-cgi/trace", "--no-api"])
    assert rc == 1
    assert "cannot connect" in capsys.readouterr().err


def test_cli_unreachable_api_host(capsys: pytest.CaptureFixture[str]) -> None:
    with _http_server(200, REAL_IAD) as url:
        rc = main_colo(
            ["--url", url + "/cdn-cgi/trace", "--api-url", f"http://127.0.0.1:{_closed_port()}",
             "--json"]
        )  # fmt: skip
    cap = capsys.readouterr()
    assert rc == 1
    assert "cannot connect" in json.loads(cap.out)["error"]
    assert "API host" in cap.err


@pytest.mark.parametrize(
    ("status", "body", "ctype", "message"),
    [
        (200, b"<html><body>Just a moment...</body></html>", "text/html", "HTML"),
        (200, b"", "text/plain", "empty"),
        (200, bytes(range(256)), "application/octet-stream", "binary"),
        (404, b"not found", "text/plain", "HTTP 404"),
        (403, REAL_IAD, "text/plain", "HTTP 403"),
    ],
)
def test_cli_refuses_bad_answers(
    status: int, body: bytes, ctype: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with _http_server(status, body, ctype) as url:
        rc = main_colo(["--url", url + "/cdn-cgi/trace", "--no-api"])
    assert rc == 1
    assert message in capsys.readouterr().err


def test_cli_trace_without_colo(capsys: pytest.CaptureFixture[str]) -> None:
    with _http_server(200, b"fl=1\nh=x\nip=203.0.113.9\n") as url:
        rc = main_colo(["--url", url + "/cdn-cgi/trace", "--no-api", "--json"])
    cap = capsys.readouterr()
    assert rc == 1
    doc = json.loads(cap.out)
    assert doc["colo"] is None and doc["in_iad"] is None
    assert "no colo line" in cap.err


def test_cli_usage_errors() -> None:
    with pytest.raises(SystemExit) as exc:
        main_colo(["--samples", "x"])
    assert exc.value.code == 2
    assert main_colo(["--samples", "0"]) == 2
