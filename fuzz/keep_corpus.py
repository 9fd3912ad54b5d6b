"""Keep the fuzz corpus small: drop the largest files until it fits a byte budget.

``python fuzz/keep_corpus.py DIR [BUDGET_BYTES]`` (default 300,000). ``make fuzz`` runs it
after merging new finds into ``tests/fuzz_corpus/`` (libFuzzer's ``-merge=1`` keeps only
inputs that add coverage; this caps what the repository carries).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["keep", "main"]

#: Default byte budget of the kept corpus.
BUDGET = 300_000


def keep(directory: Path, budget: int = BUDGET) -> tuple[int, int, int]:
    """Drop the largest files of ``directory`` until the total fits ``budget``.

    Returns (files kept, bytes kept, files dropped).
    """
    files = sorted((p for p in directory.iterdir() if p.is_file()), key=lambda p: p.stat().st_size)
    total = sum(p.stat().st_size for p in files)
    dropped = 0
    while files and total > budget:
        big = files.pop()
        total -= big.stat().st_size
        big.unlink()
        dropped += 1
    return len(files), total, dropped


def main(argv: list[str]) -> int:
    """Command line entry point; returns the exit status."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    budget = int(argv[1]) if len(argv) > 1 else BUDGET
    kept, size, dropped = keep(Path(argv[0]), budget)
    print(f"kept corpus: {kept} files, {size} bytes ({dropped} dropped over the budget)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
