"""DESIGN.md's dependency rule, kept as a test."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "mailflip"


def imports(folder: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (SRC / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(SRC))] = names
    return out


def test_domain_imports_nothing_from_mailflip_and_no_io():
    banned = ("mailflip", "temporalio", "sqlalchemy", "httpx", "imapclient", "random", "time")
    for path, names in imports("domain").items():
        bad = {n for n in names if n.split(".")[0] in banned}
        assert not bad, f"{path} imports {bad}"


def test_domain_never_reads_the_clock():
    for path in (SRC / "domain").rglob("*.py"):
        text = path.read_text()
        assert ".now(" not in text and "utcnow" not in text, path


def test_sync_engine_does_not_import_temporal():
    for path, names in imports("sync").items():
        assert not {n for n in names if n.startswith("temporalio")}, path
