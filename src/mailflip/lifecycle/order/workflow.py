"""OrderWorkflow: one per order (`order-<id>`). It only orchestrates.

The loop: ask the pure planner what is due, launch it, sleep until something
changes or the next due instant. Rules live in `mailflip.domain`; CTP bodies
(bodies.py) call activities and hand their results back to pure functions.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from mailflip.domain import actions as act
    from mailflip.domain import planner
    from mailflip.domain.lifecycle import Change
    from mailflip.domain.model import OrderState
    from mailflip.domain.outcomes import syncs_reported
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
        SyncsReport,
        UpdateSettingsInput,
        UserReadyInput,
        UsersReadyInput,
    )

def _refuse(exc: InvalidInput) -> ApplicationError:
    return ApplicationError(str(exc), exc.field, exc.message, type="InvalidInput",
                            non_retryable=True)


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
            items = planner.due(self.s, workflow.now(), self.t)
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
    def _check(self, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(self.s, workflow.now(), self.t, *args)
        except InvalidInput as exc:
            raise _refuse(exc) from None

    def _done(self, c: Change) -> ActionResult:
        self.commit(c)
        self.flush()
        return ActionResult(True, self.s.status.value, self.seq)

    @workflow.update
    def place(self, inp: ActionInput) -> ActionResult:
        c = self.change()
        act.apply_place(c)
        return self._done(c)

    @place.validator
    def _v_place(self, inp: ActionInput) -> None:
        self._check(act.check_place, inp.by)

    @workflow.update
    def change_cutover(self, inp: ChangeCutoverInput) -> ActionResult:
        c = self.change()
        act.apply_change_cutover(c, inp.cutover)
        return self._done(c)

    @change_cutover.validator
    def _v_change_cutover(self, inp: ChangeCutoverInput) -> None:
        self._check(act.check_change_cutover, inp.by, inp.cutover)

    @workflow.update
    def add_user(self, inp: AddUserInput) -> ActionResult:
        user = self._check(act.check_add_user, inp.by, inp.user)
        c = self.change()
        act.apply_add_user(c, user)
        return self._done(c)

    @add_user.validator
    def _v_add_user(self, inp: AddUserInput) -> None:
        self._check(act.check_add_user, inp.by, inp.user)

    @workflow.update
    def remove_user(self, inp: RemoveUserInput) -> ActionResult:
        addr = self._check(act.check_remove_user, inp.by, inp.address)
        c = self.change()
        act.apply_remove_user(c, addr, inp.by)
        return self._done(c)

    @remove_user.validator
    def _v_remove_user(self, inp: RemoveUserInput) -> None:
        self._check(act.check_remove_user, inp.by, inp.address)

    @workflow.update
    def update_settings(self, inp: UpdateSettingsInput) -> ActionResult:
        c = self.change()
        act.apply_update_settings(c, inp.settings)
        return self._done(c)

    @update_settings.validator
    def _v_update_settings(self, inp: UpdateSettingsInput) -> None:
        self._check(act.check_update_settings, inp.by, inp.settings)

    @workflow.update
    def update_credentials(self, inp: ActionInput) -> ActionResult:
        c = self.change()
        act.apply_update_credentials(c, inp.by)
        return self._done(c)

    @update_credentials.validator
    def _v_update_credentials(self, inp: ActionInput) -> None:
        self._check(act.check_update_credentials, inp.by)

    @workflow.update
    def release_hold(self, inp: ReleaseHoldInput) -> ActionResult:
        cutover = self._check(act.check_release_hold, inp.by, inp.cutover)
        c = self.change()
        act.apply_release_hold(c, cutover, inp.by)
        return self._done(c)

    @release_hold.validator
    def _v_release_hold(self, inp: ReleaseHoldInput) -> None:
        self._check(act.check_release_hold, inp.by, inp.cutover)

    @workflow.update
    def rerun_ctp(self, inp: RerunCtpInput) -> ActionResult:
        ctp = self._check(act.check_rerun_ctp, inp.by, inp.ctp)
        c = self.change()
        act.apply_rerun_ctp(c, ctp, inp.by)
        return self._done(c)

    @rerun_ctp.validator
    def _v_rerun_ctp(self, inp: RerunCtpInput) -> None:
        self._check(act.check_rerun_ctp, inp.by, inp.ctp)

    @workflow.update
    def cancel(self, inp: ActionInput) -> ActionResult:
        c = self.change()
        act.apply_cancel(c, inp.by)
        self.cancel_running()
        return self._done(c)

    @cancel.validator
    def _v_cancel(self, inp: ActionInput) -> None:
        self._check(act.check_cancel, inp.by)

    @workflow.update
    def user_ready(self, inp: UserReadyInput) -> ActionResult:
        c = self.change()
        act.apply_user_ready(c, inp.address.strip().lower())
        return self._done(c)

    @user_ready.validator
    def _v_user_ready(self, inp: UserReadyInput) -> None:
        try:
            act.check_user_ready(self.s, inp.address)
        except InvalidInput as exc:
            raise _refuse(exc) from None

    @workflow.update
    def users_ready(self, inp: UsersReadyInput) -> ActionResult:
        c = self.change()
        for address in inp.addresses:
            act.apply_user_ready(c, address.strip().lower())
        return self._done(c)

    @users_ready.validator
    def _v_users_ready(self, inp: UsersReadyInput) -> None:
        try:
            for address in inp.addresses:
                act.check_user_ready(self.s, address)
        except InvalidInput as exc:
            raise _refuse(exc) from None

    @workflow.signal
    def syncs_report(self, report: SyncsReport) -> None:
        c = self.change()
        syncs_reported(c, report.failed, report.settled)
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
