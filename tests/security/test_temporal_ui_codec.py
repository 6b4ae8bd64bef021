"""ASVS 11.3.2 / 8.2.1 in a real browser: the Temporal UI (the dev server's, pointed at
the portal's codec endpoint with `--ui-codec-endpoint`, as `mailflip up` does) shows a
workflow's input decrypted to a signed-in support account, and ciphertext to a partner.

The UI sends the portal's session cookie only with its codec setting "include
cross-origin credentials" on; the test sets it as a support person would, in the UI's
own settings (its local storage)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from mailflip.lifecycle.converter import EncryptionCodec, data_converter, ephemeral_keyring
from mailflip.localnet import free_port
from mailflip.stack.devserver import DevServer
from mailflip.store.repositories import SqlStore
from mailflip.web.app import portal_app
from mailflip.webserve import serving
from tests.web.conftest import ANN, SAM
from tests.web.test_portal_browser import CHROMIUM
from tests.web.test_portal_browser_live import shoot, sign_in

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium is missing: `make test` installs it")]
SECRET_INPUT = "ann@contoso.example moves on Friday"
KEYRING = ephemeral_keyring()


@pytest.fixture
def portal_port() -> int:
    return free_port()


@pytest.fixture
async def temporal(tmp_path: Path, portal_port: int) -> AsyncIterator[DevServer]:
    server = DevServer(tmp_path / "temporal", free_port(), free_port(),
                       codec_endpoint=f"http://127.0.0.1:{portal_port}/codec")
    server.start()
    try:
        await server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def portal(web_store: SqlStore, temporal: DevServer, portal_port: int
                 ) -> AsyncIterator[str]:
    app = portal_app(web_store, "k" * 32, secure_cookies=False, temporal_ui=temporal.ui_url,
                     payload_codec=EncryptionCodec(*KEYRING))
    async with serving(app, "127.0.0.1", portal_port, what="the portal", command="tests",
                       option="--port"):
        yield f"http://127.0.0.1:{portal_port}"


async def input_as_shown(chromium: Any, portal: str, ui: str, who: str) -> str:
    """Sign `who` in to the portal, then open the workflow in the Temporal UI with
    cross-origin credentials on: the text of its Input box once the UI has decoded."""
    context = await chromium.new_context()
    page = await context.new_page()
    await sign_in(page, portal, who)
    await page.goto(f"{ui}/namespaces")
    await page.evaluate("""endpoint => {
        localStorage.setItem('endpoint', JSON.stringify(endpoint));
        localStorage.setItem('includeCredentials', 'true');
        localStorage.setItem('overrideRemoteCodecConfiguration', 'true'); }""",
                        f"{portal}/codec")
    async with page.expect_response(lambda r: "/codec/decode" in r.url
                                    and r.request.method == "POST") as answer:
        await page.goto(f"{ui}/namespaces/default/workflows/wf-secret")
    status = (await answer.value).status
    if status == 200:  # the decoded input appears once the UI has the codec's answer
        await page.get_by_text(SECRET_INPUT).first.wait_for()
    else:  # the input card is drawn: what it shows is what the partner sees
        await page.get_by_text("Results will appear upon completion.").wait_for()
    shown = f"{status} {await page.inner_text('main')}"
    await shoot(page, f"temporal-ui-{'support' if who == SAM else 'partner'}")
    await context.close()
    return shown


async def test_asvs_11_3_2_the_temporal_ui_shows_support_decrypted_input_and_a_partner_none(
        chromium: Any, portal: str, temporal: DevServer) -> None:
    client = await Client.connect(temporal.address, data_converter=data_converter(KEYRING))
    await client.start_workflow("NoSuchWorkflow", SECRET_INPUT, id="wf-secret",
                                task_queue="nobody")

    support = await input_as_shown(chromium, portal, temporal.ui_url, SAM)
    partner = await input_as_shown(chromium, portal, temporal.ui_url, ANN)

    assert support.startswith("200 ") and SECRET_INPUT in support
    assert partner.startswith("403 ") and "ann@contoso.example" not in partner
