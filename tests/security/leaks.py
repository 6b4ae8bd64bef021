"""Looking for secrets where they must not be: files (logs, the store, caught mail) and
workflow histories dumped with the `temporal` CLI, read as an intruder would (base64
decoded, zlib inflated)."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
import zlib
from pathlib import Path

TEMPORAL = str(Path(sys.prefix) / "bin" / "temporal")


def readable(dump: str) -> str:
    """All a reader of a JSON dump can see: its text, and every string in it decoded from
    base64 (payload data, metadata), inflated where it is zlib."""
    parts = [dump]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and len(node) >= 8:
            try:
                raw = base64.b64decode(node, validate=True)
            except ValueError:
                return
            with contextlib.suppress(zlib.error):
                raw = zlib.decompress(raw)
            parts.append(raw.decode("latin-1"))

    walk(json.loads(dump))
    return "\n".join(parts).lower()


def cli_history(address: str, wf_id: str) -> str | None:
    """`temporal workflow show --output json` of `wf_id`, or None if there is none."""
    r = subprocess.run([TEMPORAL, "workflow", "show", "--workflow-id", wf_id, "--address",
                        address, "--output", "json"], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        assert "not found" in r.stderr.lower(), r.stderr
        return None
    return r.stdout


def files_holding(root: Path, secrets: dict[str, str], skip: tuple[Path, ...] = ()
                  ) -> dict[str, list[str]]:
    """Per secret's name: the files under `root` (but `skip`) whose bytes hold it."""
    found: dict[str, list[str]] = {name: [] for name in secrets}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(path == s or s in path.parents for s in skip):
            continue
        data = path.read_bytes()
        for name, value in secrets.items():
            if value.encode() in data:
                found[name].append(str(path.relative_to(root)))
    return {k: v for k, v in found.items() if v}
