"""PNG plots of bench results (matplotlib, imported here only, with the Agg backend).

- ``cdf_<profile>.png``: the latency CDF of warm ``returnBalances`` at one profile, one line
  per client (log-scale x, so the floor and a slow client both stay readable);
  ``cdf_spot_<profile>.png`` the same for the Spot API's ``GET /accounts/balances``.
- ``bars.png``: p50 and p99 per client, one group per profile (Spot API: ``spot <profile>``;
  log-scale y).
- ``compare.png`` (``--compare``): p50 and p99 per client for each host and profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_bars", "plot_cdfs", "plot_compare", "write_plots"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _samples(cell: Mapping[str, Any]) -> list[float]:
    op = (cell.get("ops") or {}).get("balances") or {}
    return list(op.get("samples_ms") or [])


def _distinct(cells: Sequence[Mapping[str, Any]], field: str) -> list[str]:
    """The values of ``field`` (``profile``, ``client``) in the cells, in first-seen order."""
    return list(dict.fromkeys(c[field] for c in cells))


def _group(cell: Mapping[str, Any]) -> str:
    """A cell's block: its profile (legacy API), ``spot <profile>`` (Spot API)."""
    api = cell.get("api") or "legacy"
    return str(cell["profile"]) if api == "legacy" else f"{api} {cell['profile']}"


def plot_cdfs(doc: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
    """One CDF PNG per profile; returns the files written."""
    plt = _plt()
    cells: list[Mapping[str, Any]] = list(doc["results"])
    written: list[Path] = []
    for prof in dict.fromkeys(_group(c) for c in cells):
        fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
        drawn = False
        for c in cells:
            if _group(c) != prof:
                continue
            xs = sorted(_samples(c))
            if not xs:
                continue
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.step(
                xs,
                ys,
                where="post",
                label=f"{c['client']} (n={len(xs)})",
                linewidth=2.2 if c["client"] in ("polo_fast", "floor") else 1.3,
            )
            drawn = True
        rtt = next((c.get("rtt_ms") for c in cells if _group(c) == prof), None)
        spot = prof.startswith("spot ")
        op = "GET /accounts/balances" if spot else "returnBalances"
        title = f"signed {op}, warm - profile {prof.removeprefix('spot ')}"
        if isinstance(rtt, (int, float)):
            title += f" (RTT {rtt:g} ms)"
        ax.set_title(title)
        ax.set_xlabel("round trip (ms, log scale)")
        ax.set_ylabel("fraction of requests")
        ax.set_ylim(0, 1.0)
        ax.grid(True, which="both", alpha=0.3)
        if drawn:
            ax.set_xscale("log")
            ax.legend(loc="lower right", fontsize=8)
        else:
            ax.text(0.5, 0.5, "no samples", ha="center", va="center", transform=ax.transAxes)
        path = Path(out_dir) / f"cdf_{prof.replace(' ', '_')}.png"
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def _grouped_bars(ax: Any, groups: list[str], clients: list[str], value: Any) -> None:
    n = max(1, len(clients))
    width = 0.8 / n
    for j, client in enumerate(clients):
        xs, p50s, p99s = [], [], []
        for i, g in enumerate(groups):
            p50, p99 = value(g, client)
            if p50 is None:
                continue
            xs.append(i - 0.4 + width * (j + 0.5))
            p50s.append(p50)
            p99s.append(p99 if p99 is not None else p50)
        if not xs:
            continue
        bars = ax.bar(xs, p50s, width=width * 0.95, label=client)
        color = bars.patches[0].get_facecolor() if bars.patches else None
        ax.scatter(xs, p99s, marker="_", s=120, color=color, zorder=3)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_yscale("log")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)


def plot_bars(doc: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> Path:
    """Bars of p50 (bar) and p99 (tick) per client, grouped by profile."""
    plt = _plt()
    cells: list[Mapping[str, Any]] = list(doc["results"])
    profiles = list(dict.fromkeys(_group(c) for c in cells))
    clients = _distinct(cells, "client")
    index = {(_group(c), c["client"]): c for c in cells}

    def value(prof: str, client: str) -> tuple[float | None, float | None]:
        op = ((index.get((prof, client)) or {}).get("ops") or {}).get("balances") or {}
        return op.get("p50_ms"), op.get("p99_ms")

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=100)
    _grouped_bars(ax, profiles, clients, value)
    ax.set_title(
        "signed returnBalances (spot: GET /accounts/balances), warm: p50 (bars) and p99 "
        "(ticks) per client"
    )
    ax.set_ylabel("round trip (ms, log scale)")
    path = Path(out_dir) / "bars.png"
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_plots(doc: Mapping[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write every plot of one run into ``out_dir``; return the files."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return [*plot_cdfs(doc, out_dir), plot_bars(doc, out_dir)]


def plot_compare(docs: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> Path:
    """One plot across hosts: p50/p99 per client, one group per (host, profile)."""
    plt = _plt()
    groups: list[str] = []
    clients: list[str] = []
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    for doc in docs:
        host = str((doc.get("host") or {}).get("label") or "?")
        for c in doc["results"]:
            g = f"{host}\n{_group(c)}"
            if g not in groups:
                groups.append(g)
            if c["client"] not in clients:
                clients.append(c["client"])
            index[(g, c["client"])] = c

    def value(g: str, client: str) -> tuple[float | None, float | None]:
        op = ((index.get((g, client)) or {}).get("ops") or {}).get("balances") or {}
        return op.get("p50_ms"), op.get("p99_ms")

    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(groups)), 5.5), dpi=100)
    _grouped_bars(ax, groups, clients, value)
    ax.set_title("signed returnBalances by host and profile: p50 (bars), p99 (ticks)")
    ax.set_ylabel("round trip (ms, log scale)")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(p)
    plt.close(fig)
    return p
