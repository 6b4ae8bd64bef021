"""Creating orders from files and acting on them through their workflows (CLI side).

Everything a person typed is checked here, before anything is started: a bad file or
time names the field and creates nothing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError

from mailflip.config import Settings
from mailflip.domain.model import OrderSpec
from mailflip.domain.names import Ctp
from mailflip.domain.validation import LOCK_WINDOW, check_spec
from mailflip.errors import InvalidInput
from mailflip.lifecycle.ids import order_workflow_id
from mailflip.lifecycle.order.messages import EngineSettings, OrderInput
from mailflip.lifecycle.order.workflow import OrderWorkflow
from mailflip.simulate.scenario import Clock, OrderIn, parse_model, read_section, to_spec

ORDER_ID_PREFIX = "ord-"


def new_order_id() -> str:
    """Short and readable: `ord-` and 8 hex digits (workflow id `order-ord-1a2b3c4d`)."""
    return ORDER_ID_PREFIX + secrets.token_hex(4)


def parse_when(field: str, text: str | datetime, now: datetime) -> datetime:
    """An ISO 8601 instant with a zone (`2026-12-01T09:00:00Z`) or an offset from now
    (`+3d`, `+36h`, `+2d4h`), counted from the next whole minute."""
    base = now.replace(second=0, microsecond=0)
    if base < now:
        base += timedelta(minutes=1)
    try:
        return Clock(base).at(field, text)
    except InvalidInput as exc:
        raise InvalidInput(field, exc.message) from None


def order_from_text(raw: object, now: datetime, time_scale: float = 1.0) -> OrderSpec:
    o = parse_model(OrderIn, raw, prefix="order")
    cutover = parse_when("order.cutover", o.cutover, now)
    return check_spec(to_spec(o, cutover), now, LOCK_WINDOW / time_scale)


def load_order(path: Path, now: datetime | None = None, time_scale: float = 1.0
               ) -> OrderSpec:
    """Read an order file (the `order:` section of SCENARIOS.md, or its bare content);
    raises InvalidInput naming the field. `time_scale` (MAILFLIP_TIME_SCALE) shortens
    the lock window like every other duration."""
    return order_from_text(read_section(path, "order"), now or datetime.now(UTC), time_scale)


def engine_settings(settings: Settings) -> EngineSettings:
    return EngineSettings(verify_interval_s=settings.verify_interval_minutes * 60,
                          sweep_interval_s=settings.sweep_interval_hours * 3600,
                          pass_give_up_s=settings.pass_give_up_hours * 3600,
                          pass_heartbeat_s=settings.pass_heartbeat_seconds,
                          pass_task_queue=settings.pass_task_queue,
                          time_scale=settings.time_scale)


async def start_order(client: Client, task_queue: str, spec: OrderSpec,
                      engine: EngineSettings) -> str:
    """Start the order's workflow (status Saved in Website); returns the new order id."""
    for _ in range(3):
        order_id = new_order_id()
        try:
            await client.start_workflow(OrderWorkflow.run, OrderInput(order_id, spec, engine),
                                        id=order_workflow_id(order_id), task_queue=task_queue)
            return order_id
        except WorkflowAlreadyStartedError:
            continue  # 1 in 4 billion: draw another id
    raise RuntimeError("could not find a free order id")


def order_handle(client: Client, order_id: str) -> WorkflowHandle[OrderWorkflow, object]:
    return client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))


def check_ctp(name: str) -> str:
    names = [c.value for c in Ctp]
    if name not in names:
        raise InvalidInput("ctp", f"{name!r} is not a CTP name; one of: " + ", ".join(names))
    return name
