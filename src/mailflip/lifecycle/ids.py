"""Workflow ids: readable, one per order and workflow kind."""

from __future__ import annotations


def order_workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


def syncs_workflow_id(order_id: str) -> str:
    return f"syncs-{order_id}"
