"""The README's example runs as written (against the stand-in exchange it starts itself)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_example_runs(tmp_path: Path) -> None:
    example = _python_blocks()[0]
    assert "StandInExchange" in example and "cancel_order" in example
    script = tmp_path / "example.py"
    script.write_text(example, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "'BTC'" in done.stdout


def test_the_one_line_sign_example() -> None:
    import polo_fast

    body, sign = polo_fast.sign("demo-secret", {"command": "returnBalances"})
    assert body.startswith(b"command=returnBalances&nonce=") and len(sign) == 128


def test_the_spot_signing_example_runs_and_its_signature_is_the_spec_vector() -> None:
    """The "Which API" example signs the spec's vector V3 and asserts its signature."""
    (example,) = [b for b in _python_blocks() if "polo_fast.spot.sign(" in b]
    namespace: dict[str, object] = {}
    exec(compile(example, "README.md (Which API)", "exec"), namespace)
    assert namespace["sig"] == "4FEa5bXhEc/VCMg/sUSCEkJax5Ry/3cjFxXPjKhF11A="


def test_the_spot_client_example_runs(tmp_path: Path) -> None:
    """The "Which API" Spot example trades against the Spot stand-in it starts itself."""
    (example,) = [b for b in _python_blocks() if "polo_fast.spot.Client(" in b]
    script = tmp_path / "spot_example.py"
    script.write_text(example, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "'currency': 'BTC'" in lines[0]
    assert "'state': 'NEW'" in lines[1] and "'PENDING_CANCEL'" in lines[2]
    assert "'clientOrderId'" in lines[3] and "'state'" in lines[3]
    bid, ask = lines[4].split(") (")  # ('price', 'qty') ('price', 'qty')
    assert float(bid.split("'")[1]) < float(ask.split("'")[1])


def test_the_ccxt_drop_in_named_in_the_readme_exists() -> None:
    text = README.read_text(encoding="utf-8")
    assert "from polo_fast.compat.ccxt import poloniex" in text
    compat = pytest.importorskip("polo_fast.compat.ccxt")
    assert {"poloniex", "async_poloniex", "pro_poloniex"} <= set(vars(compat))
