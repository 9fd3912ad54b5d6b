"""The kept libFuzzer corpus (tests/fuzz_corpus_c/), replayed without clang.

``make fuzz-c`` grows and minimises the corpus with the clang/libFuzzer builds of
``fuzz/fuzz_c_sign.c`` (the SHA-512 route) and ``fuzz/fuzz_c_spot.c`` (the Spot route). Here the
same fuzz sources are compiled with the system C compiler (``-std=c99 -Wall -Wextra -Werror``)
against ``fuzz/fuzz_replay.c``, a ``main()`` that feeds every kept file to
``LLVMFuzzerTestOneInput`` once, for both HMAC routes; a target aborts on any difference from
its reference (OpenSSL's one-shot ``HMAC()`` and a plain C encoder) or on a write past a buffer.
Two mutants prove the replay can fail: an off-by-one capacity check in each C route.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.test_spot_c import CSRC, FUZZ, ROOT, ROUTES, compile_c

CORPUS = ROOT / "tests" / "fuzz_corpus_c"
TARGETS = ["sign", "spot"]
#: The repository carries at most this many corpus files / bytes per target.
MAX_FILES = 3000
MAX_BYTES = 2_000_000
# one capacity check per route, made one byte too generous
MUTANTS = {
    "sign": ("hex_cap < POLO_SIGN_HEX_LEN", "hex_cap < POLO_SIGN_HEX_LEN - 1"),
    "spot": ("need > out_cap ||", "need > out_cap + 1 ||"),
}

pytestmark = pytest.mark.skipif(not (FUZZ / "fuzz_replay.c").is_file(), reason="no fuzz/ folder")


def _corpus(target: str) -> list[Path]:
    return sorted(p for p in (CORPUS / target).iterdir() if p.is_file())


def _replay(exe: Path, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), str(CORPUS / target)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize("target", TARGETS)
def test_the_kept_corpus_is_small(target: str) -> None:
    """A minimised corpus (-merge=1): at most a few thousand files and a few MB per target."""
    files = _corpus(target)
    assert 0 < len(files) <= MAX_FILES
    assert sum(p.stat().st_size for p in files) <= MAX_BYTES


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("target", TARGETS)
def test_the_kept_corpus_replays_clean(target: str, route: str, tmp_path: Path) -> None:
    """Every kept input passes the target's differential checks, on both HMAC routes."""
    sources = [FUZZ / "fuzz_replay.c", FUZZ / f"fuzz_c_{target}.c", CSRC / f"polo_{target}.c"]
    exe = compile_c(tmp_path / "replay", sources, ROUTES[route])
    done = _replay(exe, target)
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    assert f"fuzz_replay: {len(_corpus(target))} inputs replayed" in done.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_the_replay_catches_an_off_by_one(target: str, tmp_path: Path) -> None:
    """A C route whose capacity check allows one byte too many fails the corpus replay."""
    old, new = MUTANTS[target]
    source = (CSRC / f"polo_{target}.c").read_text(encoding="utf-8")
    assert old in source
    mutant = tmp_path / f"polo_{target}.c"
    mutant.write_text(source.replace(old, new), encoding="utf-8")
    exe = compile_c(
        tmp_path / "replay", [FUZZ / "fuzz_replay.c", FUZZ / f"fuzz_c_{target}.c", mutant], []
    )
    done = _replay(exe, target)
    assert done.returncode != 0
    assert f"fuzz_c_{target}" in done.stderr or "FAIL" in done.stderr
