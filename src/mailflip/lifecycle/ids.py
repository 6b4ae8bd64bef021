"""Workflow ids: readable, one per order and workflow kind."""

from __future__ import annotations


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def syncs_workflow_id(order_id: str, shard: int = 0) -> str:
    """`syncs-<order id>`, and `syncs-<order id>/<n>` for the order's further shards."""
    return f"syncs-{order_id}" if shard == 0 else f"syncs-{order_id}/{shard}"


def syncs_workflow_ids(order_id: str, shards: int) -> list[str]:
    return [syncs_workflow_id(order_id, k) for k in range(max(1, shards))]


def syncs_event_source(shard: int) -> str:
    """The timeline events' source of one syncs shard ((source, seq) is unique per order)."""
    return "syncs" if shard == 0 else f"syncs.{shard}"
