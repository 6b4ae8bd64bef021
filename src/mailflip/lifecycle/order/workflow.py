"""OrderWorkflow: one per order (`order-<id>`). It only orchestrates.

The loop: ask the pure planner what is due, launch it, sleep until something
changes or the next due instant. Rules live in `mailflip.domain`; CTP bodies
(bodies.py) call activities and hand their results back to pure functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from mailflip.domain import actions as act
    from mailflip.domain import planner
    from mailflip.domain.model import OrderState
    from mailflip.domain.outcomes import syncs_reported, workflow_task_failing
    from mailflip.domain.timeline import TimelineEvent
    from mailflip.errors import InvalidInput
    from mailflip.lifecycle.alarm import Alarm

    from .bodies import Bodies
    from .messages import (
        ActionInput,
        ActionResult,
        AddUserInput,
        ChangeCutoverInput,
        EngineSettings,
        OrderInput,
        OrderResult,
        ReleaseHoldInput,
        RemoveUserInput,
        RerunCtpInput,
        RerunSyncInput,
        ResolveTaskInput,
        SyncsReport,
        TaskFailingInput,
        UpdateSettingsInput,
        UsersReadyInput,
    )

@workflow.defn(name="OrderWorkflow")
class OrderWorkflow(Bodies):
    @workflow.init
    def __init__(self, inp: OrderInput) -> None:
        now = workflow.now()
        if inp.state is not None:
            self.s: OrderState = inp.state
        else:
            assert inp.spec is not None, "first run needs the order spec"
            self.s = act.init_state(inp.order_id, inp.spec, now)
        self.cfg: EngineSettings = inp.settings
        self.t = inp.settings.timings()
        self.init_runtime(inp.event_seq, first_run=inp.state is None)
        self.alarm = Alarm(self.wake)
        self.checked: dict[str, act.Command] = {}  # update id -> its validated command

    # ------------------------------------------------------------------- loop
    @workflow.run
    async def run(self, inp: OrderInput) -> OrderResult:
        while True:
            self.step()
            if self.s.terminal and not self.busy():
                break
            if self.should_continue_as_new() and not self.busy():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self.busy():
                    workflow.continue_as_new(OrderInput(
                        order_id=self.s.order_id, settings=self.cfg, state=self.s,
                        event_seq=self.seq))
            await self.sleep_until_change()
        await self.drain()
        return OrderResult(self.s.status.value, self.s.cancelled, self.s.completed)

    def step(self) -> None:
        """Launch every due item; pure items apply at once (and may make more due)."""
        for _ in range(100):
            items = planner.due(self.s, workflow.now(), self.t, self.inflight)
            if not items:
                break
            for item in items:
                if planner.is_pure(item):
                    self.commit(planner.apply(item, self.s, workflow.now(), self.t))
                else:
                    self.launch(item)
        self.flush()

    async def sleep_until_change(self) -> None:
        self.changed = False
        self.alarm.at(planner.next_wake(self.s, workflow.now(), self.t))
        await workflow.wait_condition(lambda: self.changed)

    def wake(self) -> None:
        self.changed = True

    def should_continue_as_new(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or \
            info.get_current_history_length() > self.cfg.history_budget

    # ------------------------------------------------------------- updates
    # One pattern for every Update: the validator runs the domain's check, which names
    # the field of a refusal or returns a typed command; the handler applies that command.
    # Temporal runs validators only when an Update arrives, not on replay: there the
    # handler runs the (deterministic) check itself.
    def _command(self, check: Callable[..., act.Command], *args: Any) -> act.Command:
        try:
            return check(self.s, workflow.now(), self.t, *args)
        except InvalidInput as exc:
            raise ApplicationError(str(exc), exc.field, exc.message,
                                   type=InvalidInput.__name__, non_retryable=True) from None

    @staticmethod
    def _update_id() -> str:
        info = workflow.current_update_info()
        assert info is not None, "called from an Update's validator or handler"
        return info.id

    def _validate(self, check: Callable[..., act.Command], *args: Any) -> None:
        self.checked[self._update_id()] = self._command(check, *args)

    def _apply(self, check: Callable[..., act.Command], *args: Any) -> ActionResult:
        cmd = self.checked.pop(self._update_id(), None) or self._command(check, *args)
        c = self.change()
        cmd.apply(c)
        if isinstance(cmd, act.Cancel):
            self.cancel_running()
        self.commit(c)
        self.flush()
        return ActionResult(True, self.s.status.value, self.seq)

    @workflow.update
    def place(self, inp: ActionInput) -> ActionResult:
        return self._apply(act.check_place, inp.by)

    @place.validator
    def _v_place(self, inp: ActionInput) -> None:
        self._validate(act.check_place, inp.by)

    @workflow.update
    def change_cutover(self, inp: ChangeCutoverInput) -> ActionResult:
        return self._apply(act.check_change_cutover, inp.by, inp.cutover)

    @change_cutover.validator
    def _v_change_cutover(self, inp: ChangeCutoverInput) -> None:
        self._validate(act.check_change_cutover, inp.by, inp.cutover)

    @workflow.update
    def add_user(self, inp: AddUserInput) -> ActionResult:
        return self._apply(act.check_add_user, inp.by, inp.user)

    @add_user.validator
    def _v_add_user(self, inp: AddUserInput) -> None:
        self._validate(act.check_add_user, inp.by, inp.user)

    @workflow.update
    def remove_user(self, inp: RemoveUserInput) -> ActionResult:
        return self._apply(act.check_remove_user, inp.by, inp.address)

    @remove_user.validator
    def _v_remove_user(self, inp: RemoveUserInput) -> None:
        self._validate(act.check_remove_user, inp.by, inp.address)

    @workflow.update
    def update_settings(self, inp: UpdateSettingsInput) -> ActionResult:
        return self._apply(act.check_update_settings, inp.by, inp.settings)

    @update_settings.validator
    def _v_update_settings(self, inp: UpdateSettingsInput) -> None:
        self._validate(act.check_update_settings, inp.by, inp.settings)

    @workflow.update
    def update_credentials(self, inp: ActionInput) -> ActionResult:
        return self._apply(act.check_update_credentials, inp.by)

    @update_credentials.validator
    def _v_update_credentials(self, inp: ActionInput) -> None:
        self._validate(act.check_update_credentials, inp.by)

    @workflow.update
    def release_hold(self, inp: ReleaseHoldInput) -> ActionResult:
        return self._apply(act.check_release_hold, inp.by, inp.cutover)

    @release_hold.validator
    def _v_release_hold(self, inp: ReleaseHoldInput) -> None:
        self._validate(act.check_release_hold, inp.by, inp.cutover)

    @workflow.update
    def rerun_ctp(self, inp: RerunCtpInput) -> ActionResult:
        return self._apply(act.check_rerun_ctp, inp.by, inp.ctp)

    @rerun_ctp.validator
    def _v_rerun_ctp(self, inp: RerunCtpInput) -> None:
        self._validate(act.check_rerun_ctp, inp.by, inp.ctp)

    @workflow.update
    def cancel(self, inp: ActionInput) -> ActionResult:
        return self._apply(act.check_cancel, inp.by)

    @cancel.validator
    def _v_cancel(self, inp: ActionInput) -> None:
        self._validate(act.check_cancel, inp.by)

    @workflow.update
    def users_ready(self, inp: UsersReadyInput) -> ActionResult:
        return self._apply(act.check_users_ready, inp.addresses)

    @users_ready.validator
    def _v_users_ready(self, inp: UsersReadyInput) -> None:
        self._validate(act.check_users_ready, inp.addresses)

    @workflow.update
    def rerun_sync(self, inp: RerunSyncInput) -> ActionResult:
        return self._apply(act.check_rerun_sync, inp.by, inp.mailbox, inp.pass_name)

    @rerun_sync.validator
    def _v_rerun_sync(self, inp: RerunSyncInput) -> None:
        self._validate(act.check_rerun_sync, inp.by, inp.mailbox, inp.pass_name)

    @workflow.update
    def resolve_task(self, inp: ResolveTaskInput) -> ActionResult:
        return self._apply(act.check_resolve_task, inp.by, inp.code, inp.subject, inp.reason)

    @resolve_task.validator
    def _v_resolve_task(self, inp: ResolveTaskInput) -> None:
        self._validate(act.check_resolve_task, inp.by, inp.code, inp.subject, inp.reason)

    @workflow.signal
    def syncs_report(self, report: SyncsReport) -> None:
        c = self.change()
        syncs_reported(c, report.failed, report.caught_up, report.settled, report.gaps,
                       report.grades, report.shard)
        self.commit(c)

    @workflow.signal
    def workflow_task_failing(self, inp: TaskFailingInput) -> None:
        c = self.change()
        workflow_task_failing(c, inp.detail)
        self.commit(c)

    # --------------------------------------------------------------- queries
    @workflow.query
    def state(self) -> OrderState:
        return self.s

    @workflow.query
    def event_seq(self) -> int:
        return self.seq

    @workflow.query
    def unflushed(self) -> list[TimelineEvent]:
        """Timeline events not yet written to the store (the mirror runs behind)."""
        return list(self.buffer)
