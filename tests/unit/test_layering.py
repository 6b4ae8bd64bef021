"""What import-linter (pyproject.toml, run by `make test`) cannot see: the pure core
reads no clock and uses no randomness."""

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


def test_domain_uses_no_randomness_time_or_os():
    banned = ("random", "time", "os", "socket", "secrets")
    for path, names in imports("domain").items():
        bad = {n for n in names if n.split(".")[0] in banned}
        assert not bad, f"{path} imports {bad}"


def test_domain_never_reads_the_clock():
    for path in (SRC / "domain").rglob("*.py"):
        text = path.read_text()
        assert ".now(" not in text and "utcnow" not in text, path
