"""The kept fuzz corpus (tests/fuzz_corpus/), replayed through fuzz/fuzz_sign.py's checks.

``make fuzz`` grows the corpus with atheris; here every kept input is decoded and checked
again (C and pure backends against ``urlencode`` + ``hmac``, the raw C API against
``quote_plus`` with guarded buffers), without atheris. Two mutation tests prove the checks
can fail: a signer that returns a wrong body (caught by corpus inputs) and a C call that is
told one byte more room than its buffer has (caught by generated raw-API inputs).

The ``seed-*`` files are random inputs from ``random.Random(2026)`` (every fourth one in the
raw mode); the others are atheris finds kept by ``make fuzz`` (``-merge=1``: only inputs
that add coverage).
"""

from __future__ import annotations

import collections
import importlib.util
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from polo_fast import signing

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fuzz_corpus"
HARNESS = ROOT / "fuzz" / "fuzz_sign.py"
#: The repository carries at most this many corpus bytes.
BUDGET = 300_000

pytestmark = pytest.mark.skipif(not HARNESS.is_file(), reason="fuzz/ is not beside the tests")


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    """fuzz/fuzz_sign.py, imported by path (it is a script, not a package module)."""
    spec = importlib.util.spec_from_file_location("fuzz_sign", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_sign"] = module
    spec.loader.exec_module(module)
    return module


def corpus_files() -> list[Path]:
    """The kept inputs, in a stable order."""
    return sorted(p for p in CORPUS.iterdir() if p.is_file()) if CORPUS.is_dir() else []


def test_corpus_is_kept_and_small() -> None:
    files = corpus_files()
    assert len(files) >= 50, "tests/fuzz_corpus/ lost its inputs (run make fuzz)"
    assert sum(p.stat().st_size for p in files) <= BUDGET


def test_corpus_replays_clean(harness: ModuleType) -> None:
    failures: list[str] = []
    kinds: collections.Counter[str] = collections.Counter()
    for path in corpus_files():
        try:
            kinds[harness.check_one(path.read_bytes())] += 1
        except AssertionError as exc:
            failures.append(f"{path.name}: {exc}")
    assert failures == []
    wanted = {"signer:signed", "signer:refused", "signer-many:signed", "signer-many:refused"}
    if "cffi" in signing.BACKENDS:
        wanted |= {"raw:signed", "raw:refused"}
    assert wanted <= set(kinds), f"the corpus no longer reaches {sorted(wanted - set(kinds))}"


def test_checks_catch_a_wrong_body(harness: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    real = signing._PythonSigner.encode_and_sign

    def off_by_one(self: Any, params: Any, nonce: int) -> tuple[bytes, str]:
        body, sig = real(self, params, nonce)
        return body + b"&", sig

    monkeypatch.setattr(signing._PythonSigner, "encode_and_sign", off_by_one)
    caught = 0
    for path in corpus_files():
        try:
            harness.check_one(path.read_bytes())
        except AssertionError as exc:
            assert "python/" in str(exc)
            caught += 1
    assert caught >= 10


@pytest.mark.skipif("cffi" not in signing.BACKENDS, reason="compiled module missing")
def test_checks_catch_an_overstated_capacity(
    harness: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lib = harness._lib

    class OneByteMore:
        """The real lib, except that encode is told one byte more room than the buffer has."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real_lib, name)

        def polo_encode_and_sign(self, *args: Any) -> int:
            a = list(args)
            a[7] += 1  # body_cap: the guard region behind the buffer absorbs the overrun
            return int(real_lib.polo_encode_and_sign(*a))

    monkeypatch.setattr(harness, "_lib", OneByteMore())
    monkeypatch.setattr(harness, "EXACT_BUFFERS", False)  # the overrun must land in a guard
    # raw-mode inputs (first byte 2) drawn from a fixed seed: a few in a hundred land on a
    # capacity one byte short of the body, where the overstated room must be noticed
    rnd = random.Random(6)
    inputs = [bytes([2, *(rnd.randrange(256) for _ in range(3000))]) for _ in range(300)]
    caught = 0
    for data in inputs:
        try:
            harness.check_one(data)
        except AssertionError as exc:
            assert str(exc).startswith("raw:")
            caught += 1
    assert caught >= 10
