"""ASVS 11.3.2 / 13.3.1: a scenario's workflow histories, dumped from the Temporal
server with the `temporal` CLI as an operator would, hold no email address, name,
domain or secret of the order: only ciphertext, ids and type names. (A live order on
the local stack is dumped the same way in tests/cli/test_stack_e2e.py.)"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from mailflip.lifecycle.converter import data_converter
from mailflip.lifecycle.runner import CachingSandboxedWorkflowRunner
from mailflip.lifecycle.worker import WORKFLOWS
from mailflip.simulate.runner import Driver
from mailflip.simulate.scenario import load

from .leaks import cli_history, readable

ROOT = Path(__file__).resolve().parents[2]
KEYRING = ("t", {"t": b"histories-sealed-test-key-32byte"})


class CliDumpDriver(Driver):
    """The driver, its histories read by the `temporal` CLI from the server."""

    async def histories(self, order_id: str) -> dict[str, str]:
        target = self.env.client.service_client.config.target_host
        dumps = {wf_id: await asyncio.to_thread(cli_history, target, wf_id)
                 for wf_id in self.workflow_ids}
        return {k: v for k, v in dumps.items() if v is not None}


def needles(text: str) -> set[str]:
    """What of the scenario's order must not show in a history: every address, name,
    domain and organisation in it."""
    found = set(re.findall(r"[\w.+-]+@[\w.-]+", text))
    found |= {a.split("@")[1] for a in found}
    found |= {"Contoso Ltd", "Pat Doe", "Ann Lee", "Bob Roy", "mail.contoso.com", "acme-msp"}
    return found


async def test_asvs_11_3_2_scenario_histories_dumped_by_the_cli_show_nothing_of_the_order(
) -> None:
    path = ROOT / "examples" / "happy-path-ssi.yaml"
    outcome = await CliDumpDriver(load(path), keep_histories=True, keyring=KEYRING).run()

    assert {k.split("-")[0] for k in outcome.histories} == {"order", "syncs"}
    for wf_id, dump in outcome.histories.items():
        assert '"eventType"' in dump or '"event_type"' in dump or "EVENT_TYPE" in dump, dump[:300]
        seen = readable(dump)
        for needle in needles(path.read_text()):
            assert needle.lower() not in seen, (wf_id, needle)
        # and with the key, the dump is a whole history that replays
        history = WorkflowHistory.from_json(wf_id, json.loads(dump))
        replayer = Replayer(workflows=WORKFLOWS, data_converter=data_converter(KEYRING),
                            workflow_runner=CachingSandboxedWorkflowRunner())
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, result.replay_failure
