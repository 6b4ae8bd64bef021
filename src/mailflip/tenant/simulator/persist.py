"""The local Microsoft 365's tenants on disk (`--state DIR`), so a restart keeps what
orders did to them: one JSON file, written whole (temporary file, then rename) and
readable by its owner only. The consented admin apps are not saved: they come from the
configuration on every start, so changed credentials take effect."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from mailflip.errors import InvalidInput
from mailflip.tenant.simulator.model import SimulatedTenant

_TENANTS = TypeAdapter(list[SimulatedTenant])


def restore(path: Path, tenants: tuple[SimulatedTenant, ...]) -> tuple[SimulatedTenant, ...]:
    """The configured tenants, each replaced by its saved state when there is one."""
    if not path.is_file():
        return tenants
    try:
        saved = {t.tenant_id: t for t in _TENANTS.validate_json(path.read_bytes())}
    except (OSError, ValidationError) as exc:
        raise InvalidInput("state", f"{path} is not a saved local Microsoft 365 "
                                    f"({type(exc).__name__}); move it away to start "
                                    "afresh") from None
    out = []
    for fresh in tenants:
        kept = saved.get(fresh.tenant_id)
        if kept is not None:
            kept.admin_apps = fresh.admin_apps
            # units as configured now, consumption as saved
            kept.skus = {sku_id: replace(sku, consumed=kept.skus[sku_id].consumed)
                         if sku_id in kept.skus else sku for sku_id, sku in fresh.skus.items()}
        out.append(kept or fresh)
    return tuple(out)


def save(path: Path, tenants: tuple[SimulatedTenant, ...]) -> None:
    write_private(path, _TENANTS.dump_json([_without_admin_apps(t) for t in tenants],
                                           indent=1))


def write_private(path: Path, data: bytes) -> None:
    """`data` in a file only its owner can read (the state, secrets, keys, the env file),
    whole or not at all: a temporary file beside it, synced, then renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _without_admin_apps(tenant: SimulatedTenant) -> SimulatedTenant:
    return replace(tenant, admin_apps={})
