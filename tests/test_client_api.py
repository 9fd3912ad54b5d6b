"""The generated command methods and argument checks: up to date with the table, one method
per command, right shape."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

from polo_fast import _api
from polo_fast.client import Client
from polo_fast.commands import ALL_COMMANDS, Kind

ROOT = Path(__file__).resolve().parent.parent


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "tools" / "gen_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_is_up_to_date() -> None:
    gen = _generator()
    assert (ROOT / "polo_fast" / "_api.py").read_text() == gen.render(), (  # type: ignore[attr-defined]
        "polo_fast/_api.py is out of date with polo_fast/commands.py: run python tools/gen_api.py"
    )


def test_generated_checks_are_up_to_date() -> None:
    target = ROOT / "polo_fast" / "_checks.py"
    assert target.exists(), "polo_fast/_checks.py is missing: run python tools/gen_api.py"
    assert target.read_text() == _generator().render_checks(), (  # type: ignore[attr-defined]
        "polo_fast/_checks.py is out of date with polo_fast/commands.py: "
        "run python tools/gen_api.py"
    )


def test_one_async_method_per_command_with_table_arguments() -> None:
    for cmd in ALL_COMMANDS:
        method = getattr(Client, cmd.method)
        assert inspect.iscoroutinefunction(method), cmd.method
        assert method.__qualname__.startswith(_api.CommandMethods.__name__)
        params = list(inspect.signature(method).parameters.values())[1:]
        lead_names = {g[0] for g in cmd.one_of}
        required = [p for p in cmd.params if p.required]
        lead = [p for p in cmd.params if not p.required and p.name in lead_names]
        optional = [p for p in cmd.params if not p.required and p.name not in lead_names]
        assert [p.name for p in params] == [p.arg for p in required + lead + optional]
        for sp, tp in zip(params, required + lead + optional, strict=True):
            if tp.required:
                assert sp.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                assert sp.default is inspect.Parameter.empty
            elif tp in lead:  # cancel_order(order_number), as cancelOrder(orderNumber)
                assert sp.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
                assert sp.default is None
            else:
                assert sp.kind is inspect.Parameter.KEYWORD_ONLY
                assert sp.default is (False if tp.kind is Kind.FLAG else None)
            if tp.kind is Kind.FLAG:
                assert sp.annotation == "bool"
        assert method.__doc__ and cmd.name in method.__doc__
