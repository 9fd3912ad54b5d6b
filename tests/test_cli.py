"""The ``polo-fast`` entry point: dispatch, help, and ``polo-fast sign`` against openssl."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import sys

import pytest

from polo_fast.cli import main
from polo_fast.testing.spot import SpotExchange
from tests.conftest import make_secret


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "polo_fast", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_sign_prints_the_body_and_the_openssl_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = make_secret()
    env = {"PATH": "/usr/bin:/bin", "POLO_FAST_SECRET": secret}
    done = _run(
        "sign",
        "buy",
        "currencyPair=BTC_ETH",
        "rate=0.025",
        "amount=2",
        "--nonce",
        "1700000000001",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    body = "command=buy&currencyPair=BTC_ETH&rate=0.025&amount=2&nonce=1700000000001"
    assert done.stdout.splitlines()[0] == f"body: {body}"
    sign = done.stdout.splitlines()[1].removeprefix("Sign: ")
    assert sign == hmac.new(secret.encode(), body.encode(), hashlib.sha512).hexdigest()
    if shutil.which("openssl"):
        out = subprocess.run(
            ["openssl", "dgst", "-sha512", "-hmac", secret],
            input=body.encode(),
            capture_output=True,
            check=True,
        ).stdout.decode()
        assert out.strip().rsplit("= ", 1)[-1] == sign
    assert secret not in done.stdout + done.stderr


def test_sign_refuses_without_a_secret_and_bad_pairs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLO_FAST_SECRET", raising=False)
    with pytest.raises(SystemExit) as info:
        main(["sign", "returnBalances"])
    assert info.value.code == 2 and "POLO_FAST_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("POLO_FAST_SECRET", make_secret())
    with pytest.raises(SystemExit):
        main(["sign", "buy", "noequals"])
    assert "NAME=VALUE" in capsys.readouterr().err


def test_help_version_and_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "bench" in capsys.readouterr().out
    assert main([]) == 2
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("polo-fast ")
    assert main(["nonsense"]) == 2
    assert "unknown command" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["bench", "colo", "exchange", "wan"])
def test_each_command_is_wired(command: str) -> None:
    done = _run(command, "--help")
    assert done.returncode == 0, done.stderr
    assert "usage" in done.stdout.lower()


# -- bad flags: one clear line, exit 2, nothing started or sent (issue 9 item 15) ----------

BAD_FLAGS = [
    (["exchange", "--port", "99999"], "--port"),
    (["exchange", "--port", "-1"], "--port"),
    (["exchange", "--port", "http"], "--port"),
    (["exchange", "--rate-limit", "nan"], "--rate-limit"),
    (["exchange", "--rate-limit", "-1"], "--rate-limit"),
    (["exchange", "--keepalive-timeout", "0"], "--keepalive-timeout"),
    (["exchange", "--keepalive-timeout", "inf"], "--keepalive-timeout"),
    (["exchange", "--keys-file", "/nonexistent/polo-fast-keys"], "--keys-file"),
    (["exchange", "--seed", "x"], "--seed"),
    (["exchange", "--api", "futures"], "--api"),
    (["exchange", "--api", "spot", "--withdraw-key", "K"], "--withdraw-key"),
    (["exchange", "--api", "spot", "--rate-limit", "3"], "--rate-limit"),
    (["exchange", "--key", "nocolonsecret"], "--key"),
    (["wan", "127.0.0.1:1", "--rtt-ms", "nan"], "--rtt-ms"),
    (["wan", "127.0.0.1:1", "--rtt-ms", "inf"], "--rtt-ms"),
    (["wan", "127.0.0.1:1", "--rtt-ms", "-5"], "--rtt-ms"),
    (["wan", "127.0.0.1:1", "--rtt-ms", "1", "--jitter-ms", "nan"], "--jitter-ms"),
    (["wan", "127.0.0.1:1", "--rtt-ms", "1", "--port", "99999"], "--port"),
    (["wan", "127.0.0.1:99999", "--rtt-ms", "1"], "target"),
    (["wan", "127.0.0.1:1", "--profile", "mars"], "--profile"),
    (["bench", "--requests", "0"], "--requests"),
    (["bench", "--requests", "x"], "--requests"),
    (["bench", "--idle-seconds", "nan"], "--idle-seconds"),
    (["bench", "--idle-seconds", "-1"], "--idle-seconds"),
    (["bench", "--nonce-scale", "0"], "--nonce-scale"),
    (["bench", "--nonce-scale", "2000000000"], "--nonce-scale"),
    (["bench", "--profiles", "mars"], "profile"),
    (["bench", "--api", "spot", "--url", "https://api.poloniex.com"], "--api spot"),
    (["bench", "--api", "moon"], "--api"),
    (["colo", "--timeout", "nan"], "--timeout"),
    (["colo", "--timeout", "0"], "--timeout"),
    (["sign", "buy", "--nonce", "-5"], "--nonce"),
    (["sign", "buy", "--nonce", str(1 << 64)], "--nonce"),
]


def _refuse_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any service or bench run that starts despite a bad flag fail at once, not hang."""
    import polo_fast.bench.server
    import polo_fast.testing._cli

    def started(*args: object, **kwargs: object) -> int:
        raise AssertionError("started despite a bad flag")

    monkeypatch.setattr(polo_fast.testing._cli, "_serve_until_signalled", started)
    monkeypatch.setattr(polo_fast.bench.server.ExchangeProcess, "start", started)


@pytest.mark.parametrize(("argv", "flag"), BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_flags_are_one_line_and_exit_2(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLO_FAST_SECRET", make_secret())
    _refuse_to_start(monkeypatch)
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"polo-fast {argv[0]}: ") and flag in err, err


def test_exchange_api_spot_before_the_spot_stand_in_exists(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    import polo_fast.testing

    # a polo_fast.testing.spot without SpotExchange: the state before it is built
    fake = types.ModuleType("polo_fast.testing.spot")
    monkeypatch.setitem(sys.modules, "polo_fast.testing.spot", fake)
    monkeypatch.setattr(polo_fast.testing, "spot", fake, raising=False)
    with pytest.raises(SystemExit) as info:
        main(["exchange", "--api", "spot", "--no-tls"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert "--api spot" in err and "not built yet" in err


def test_a_key_without_a_colon_is_refused_without_showing_any_of_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = make_secret()
    with pytest.raises(SystemExit) as info:
        main(["exchange", "--key", secret])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--key" in err
    assert secret[:4] not in err


def _spot_built(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> SpotExchange:
    """The Spot stand-in ``polo-fast exchange argv`` would serve (nothing listens)."""
    import polo_fast.testing._cli

    built: list[object] = []

    def serve(prog: str, service: object, announce: object) -> int:
        built.append(service)
        return 0

    monkeypatch.setattr(polo_fast.testing._cli, "_serve_until_signalled", serve)
    assert main(["exchange", "--api", "spot", "--no-tls", *argv]) == 0
    assert isinstance(built[0], SpotExchange)
    return built[0]


def test_exchange_api_spot_rate_limit_0_turns_the_limits_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _spot_built([], monkeypatch)._limiters is not None
    assert _spot_built(["--rate-limit", "0"], monkeypatch)._limiters is None


def test_an_address_that_cannot_be_listened_on_is_one_line() -> None:
    done = _run("exchange", "--no-tls", "--host", "256.0.0.1")
    assert done.returncode == 1
    assert done.stderr.startswith("polo-fast exchange: cannot start: ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "stand-in exchange:" not in done.stdout
