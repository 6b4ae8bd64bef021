"""Where Microsoft's API description files are.

Copies ship with the package (`data/`, the CSDL gzip-compressed; their provenance is in
`data/README.md`); a caller may pass its own `spec_dir` holding either form.
"""

from __future__ import annotations

from pathlib import Path

from mailflip.errors import ConformanceSpecMissing

GRAPH_METADATA = "v1.0-cleanMetadata.xml"
EXO_CMDLETS = "exo-cmdlets.md"


def default_spec_dir() -> Path:
    return Path(__file__).resolve().parent / "data"


def spec_file(spec_dir: Path | None, name: str) -> Path:
    """The resolved path of one description file; refuses a missing one by its path."""
    folder = default_spec_dir() if spec_dir is None else Path(spec_dir)
    path = (folder / name).resolve()
    if not path.is_file() and (folder / f"{name}.gz").is_file():
        path = (folder / f"{name}.gz").resolve()
    if not path.is_file():
        raise ConformanceSpecMissing(
            f"{path}: Microsoft's API description {name!r} is missing (expected in "
            f"{folder}; pass spec_dir= to look elsewhere)")
    return path
