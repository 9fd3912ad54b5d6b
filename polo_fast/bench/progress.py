"""The bench's progress bar on stderr (tqdm when installed and wanted; else nothing)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    """A tqdm bar over cells on stderr (or nothing)."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self._bar: Any = None
        if enabled is False:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        tqdm.monitor_interval = 0  # no monitor thread: it would count as client CPU
        self._bar = tqdm(
            total=total,
            desc="bench",
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
            file=sys.stderr,
            disable=None if enabled is None else not enabled,
            dynamic_ncols=True,
            leave=False,
        )

    def step(self, text: str) -> None:
        """Show what is being measured."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def advance(self, n: float = 1.0) -> None:
        """Move the bar by ``n`` phases (fractions allowed)."""
        if self._bar is not None and n:
            self._bar.update(n)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
