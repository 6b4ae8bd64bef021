"""ASVS 11.3.2 / 8.2: the portal's codec endpoint decrypts payloads for the Temporal UI,
for signed-in support accounts only, and lets only that UI's origin read its answers."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from temporalio.api.common.v1 import Payload

from mailflip.lifecycle.converter import EncryptionCodec, ephemeral_keyring
from mailflip.store.repositories import SqlStore
from mailflip.web.app import portal_app
from tests.web.conftest import ANN, SAM, sign_in

UI = "http://127.0.0.1:8233"
PLAIN = b'{"address":"ann@contoso.example"}'


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(*ephemeral_keyring())


@pytest.fixture
def web(web_store: SqlStore, codec: EncryptionCodec) -> Iterator[TestClient]:
    app = portal_app(web_store, "k" * 32, secure_cookies=False, temporal_ui=UI,
                     payload_codec=codec)
    with TestClient(app) as c:
        yield c


def wire(p: Payload) -> dict[str, object]:
    return {"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
            "data": base64.b64encode(p.data).decode()}


async def sealed_body(codec: EncryptionCodec) -> dict[str, object]:
    [p] = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=PLAIN)])
    return {"payloads": [wire(p)]}


async def test_asvs_8_2_1_support_signed_in_reads_a_history_payload_decrypted(
        web: TestClient, codec: EncryptionCodec) -> None:
    sign_in(web, SAM)

    r = web.post("/codec/decode", json=await sealed_body(codec), headers={"Origin": UI})

    assert r.status_code == 200, r.text
    [p] = r.json()["payloads"]
    assert base64.b64decode(p["data"]) == PLAIN
    assert r.headers["access-control-allow-origin"] == UI
    assert r.headers["access-control-allow-credentials"] == "true"


async def test_asvs_8_2_1_a_partner_or_nobody_gets_no_decrypted_payload(
        web: TestClient, codec: EncryptionCodec) -> None:
    body = await sealed_body(codec)
    anonymous = web.post("/codec/decode", json=body, headers={"Origin": UI})
    sign_in(web, ANN)
    partner = web.post("/codec/decode", json=body, headers={"Origin": UI})
    web.cookies.clear()
    forged = web.post("/codec/decode", json=body, headers={"Authorization": "Bearer mf_x"})

    assert (anonymous.status_code, partner.status_code, forged.status_code) == (401, 403, 401)
    for r in (anonymous, partner, forged):
        assert "contoso" not in r.text


async def test_asvs_3_4_another_origin_gets_no_cors_grant_and_a_form_post_is_refused(
        web: TestClient, codec: EncryptionCodec) -> None:
    sign_in(web, SAM)
    evil = "https://evil.example"

    pre = web.options("/codec/decode", headers={
        "Origin": evil, "Access-Control-Request-Method": "POST"})
    ok = web.options("/codec/decode", headers={
        "Origin": UI, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace"})
    read = web.post("/codec/decode", json=await sealed_body(codec), headers={"Origin": evil})
    form = web.post("/codec/decode", data={"payloads": "x"}, headers={"Origin": evil})

    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in ok.headers["access-control-allow-headers"]
    assert "access-control-allow-origin" not in read.headers  # the browser withholds it
    assert form.status_code == 415


async def test_a_support_api_token_works_and_bad_payloads_name_the_field(
        web: TestClient, web_store: SqlStore, codec: EncryptionCodec) -> None:
    from mailflip.web.api import create_token

    _, token = create_token(web_store, web_store.account(SAM), "temporal ui")
    headers = {"Authorization": f"Bearer {token}"}

    good = web.post("/codec/decode", json=await sealed_body(codec), headers=headers)
    bad = web.post("/codec/decode", json={"payloads": [{"data": 5}]}, headers=headers)
    encoded = web.post("/codec/encode", json={"payloads": [wire(Payload(data=PLAIN))]},
                       headers=headers)

    assert good.status_code == 200
    assert bad.status_code == 422 and bad.json()["field"] == "payloads"
    assert encoded.status_code == 200 and "contoso" not in encoded.text
