"""The Spot stand-in is a judge: of polo_fast it reads only the endpoint table and the legacy
stand-in's infrastructure; the table itself imports nothing from polo_fast."""

from __future__ import annotations

import ast
from pathlib import Path

import polo_fast.spot
import polo_fast.testing.spot

ALLOWED = ("polo_fast.spot.commands", "polo_fast.testing._", "polo_fast.testing.exchange")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_stand_in_reads_only_the_table_and_the_testing_infrastructure() -> None:
    folder = Path(polo_fast.testing.spot.__file__).parent
    for path in sorted(folder.glob("*.py")):
        for name in _imports(path):
            if name.startswith("polo_fast") and not name.startswith("polo_fast.testing.spot"):
                assert name.startswith(ALLOWED), (path.name, name)
        assert "polo_fast.signing" not in _imports(path)


def test_the_table_and_the_package_import_nothing_of_polo_fast() -> None:
    folder = Path(polo_fast.spot.__file__).parent
    for name in ("__init__.py", "commands.py"):
        assert not any(n.startswith("polo_fast") for n in _imports(folder / name)), name
