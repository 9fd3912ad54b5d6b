"""The ``polo-fast`` entry point: dispatch, help, and ``polo-fast sign`` against openssl."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
import sys

import pytest

from polo_fast.cli import main
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
