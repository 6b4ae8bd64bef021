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

from . import TEST_KEYRING

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_committed():
    kinds = {p.name.split(".")[1] for p in HISTORIES}
    assert len(HISTORIES) >= 8 and kinds == {"order", "syncs"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replay_committed_history(path: Path):
    replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(TEST_KEYRING),
                        workflow_runner=CachingSandboxedWorkflowRunner())
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_committed_histories_are_sealed_with_the_test_key():
    """Every payload a worker's codec writes is ciphertext under the replay key (patch
    markers and search attributes are written by the SDK's core and the server)."""
    import json

    from .seal_histories import HISTORIES as SEALED
    from .seal_histories import NOT_CODEC

    def payloads(node, skip=False):
        if isinstance(node, list):
            for v in node:
                yield from payloads(v, skip)
        elif isinstance(node, dict):
            if "metadata" in node and "data" in node:
                yield skip, node["metadata"]
                return
            for k, v in node.items():
                yield from payloads(v, skip or k in NOT_CODEC)

    assert SEALED == HISTORIES[0].parent
    for path in HISTORIES:
        found = [(skip, meta) for skip, meta in payloads(json.loads(path.read_text()))]
        sealed = [meta for skip, meta in found if not skip]
        assert sealed, path.name
        assert all(meta["encoding"] == "YmluYXJ5L2VuY3J5cHRlZA==" for meta in sealed), path.name
