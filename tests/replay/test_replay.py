"""Committed histories of real runs replay against today's workflow code: a change that
would break orders already running fails the build (guard it with workflow.patched())."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.runner import CachingSandboxedWorkflowRunner
from mailflip.lifecycle.worker import WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_committed():
    kinds = {p.name.split(".")[1] for p in HISTORIES}
    assert len(HISTORIES) >= 8 and kinds == {"order", "syncs"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay_committed_history(path: Path):
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(),
                        workflow_runner=CachingSandboxedWorkflowRunner())
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
