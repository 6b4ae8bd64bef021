"""A library's long exception chain reaches the workflow (and `orders show`) as one
bounded failure with its reason, not as Temporal's "Failure exceeds size limit."."""

from __future__ import annotations

import ssl
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Worker

from mailflip.lifecycle.failures import CompactFailures
from mailflip.simulate.runner import time_skipping


@activity.defn
async def sign_in() -> None:
    try:
        raise ssl.SSLCertVerificationError("certificate verify failed: " + "x" * 20_000)
    except ssl.SSLError as exc:
        raise ConnectionError("HTTPSConnectionPool(host='127.0.0.1'): Max retries "
                              "exceeded with url: /token " + "y" * 20_000) from exc


@workflow.defn(sandboxed=False)
class SignIn:
    @workflow.run
    async def run(self) -> list[str]:
        try:
            await workflow.execute_activity(
                sign_in, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=1))
        except ActivityError as exc:
            cause = exc.cause
            assert isinstance(cause, ApplicationError)
            return [cause.type or "", cause.message, str(cause.cause)]
        return []


async def test_a_long_exception_chain_arrives_as_one_bounded_failure_with_its_reason() -> None:
    async with time_skipping() as env:
        queue = f"failures-{uuid.uuid4()}"
        async with Worker(env.client, task_queue=queue, workflows=[SignIn],
                          activities=[sign_in], interceptors=[CompactFailures()]):
            kind, message, cause = await env.client.execute_workflow(
                SignIn.run, id=f"sign-in-{uuid.uuid4()}", task_queue=queue)
    assert kind == "ConnectionError"
    assert message.startswith("HTTPSConnectionPool(host='127.0.0.1'): Max retries exceeded")
    assert len(message) < 2200 and "Failure exceeds size limit" not in message
    assert cause == "None"  # the SSL error's 20 KB is not carried along
