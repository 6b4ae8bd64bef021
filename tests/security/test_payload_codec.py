"""ASVS 11.3.2 / 13.3.1: every Temporal payload is sealed with AES-256-GCM under a key
of the settings, key ids rotate, and the public dev key is refused outside dev."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from mailflip.config import DEV_PAYLOAD_KEYS, Settings, parse_payload_keys
from mailflip.lifecycle.converter import (
    ENCRYPTED,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    data_converter,
    ephemeral_keyring,
)

ROOT = Path(__file__).resolve().parents[2]
PLAIN = b'{"address":"ann@contoso.example","name":"Ann Lee"}'


def key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def payload(data: bytes = PLAIN) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_asvs_11_3_2_payloads_are_sealed_with_aes_gcm_and_name_their_key() -> None:
    codec = EncryptionCodec(*ephemeral_keyring())

    [sealed] = await codec.encode([payload()])

    assert sealed.metadata["encoding"] == ENCRYPTED
    assert sealed.metadata[KEY_ID] == b"run"
    assert b"contoso" not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [payload()]


async def test_asvs_11_3_2_the_same_payload_seals_differently_each_time() -> None:
    codec = EncryptionCodec(*ephemeral_keyring())

    a, b = await codec.encode([payload(), payload()])

    assert a.data != b.data  # a fresh nonce per payload


async def test_asvs_11_3_2_large_payloads_are_compressed_before_sealing() -> None:
    codec = EncryptionCodec(*ephemeral_keyring())
    big = payload(json.dumps([{"address": f"u{i}@contoso.example"}
                              for i in range(5000)]).encode())

    [sealed] = await codec.encode([big])

    assert len(sealed.data) < len(big.data) / 4
    assert await codec.decode([sealed]) == [big]


async def test_asvs_13_3_1_rotated_keys_new_payloads_use_the_newest_old_ones_still_open(
) -> None:
    old_key, new_key = key(), key()
    before = EncryptionCodec(*parse_payload_keys(f"k1:{old_key}"))
    after = EncryptionCodec(*parse_payload_keys(f"k2:{new_key},k1:{old_key}"))
    [old] = await before.encode([payload()])

    [new] = await after.encode([payload()])

    assert new.metadata[KEY_ID] == b"k2"
    assert await after.decode([old, new]) == [payload(), payload()]


async def test_asvs_13_3_1_a_retired_key_no_longer_opens_and_says_which_key() -> None:
    old_key = key()
    [old] = await EncryptionCodec(*parse_payload_keys(f"k1:{old_key}")).encode([payload()])
    retired = EncryptionCodec(*parse_payload_keys(f"k2:{key()}"))

    with pytest.raises(PayloadKeyError, match="'k1'") as caught:
        await retired.decode([old])
    assert old_key not in str(caught.value)


async def test_asvs_11_3_2_an_altered_payload_or_a_swapped_key_id_is_refused() -> None:
    k = key()
    codec = EncryptionCodec(*parse_payload_keys(f"a:{k},b:{k}"))
    [sealed] = await codec.encode([payload()])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes(
        [sealed.data[-1] ^ 1]))
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"b"}, data=sealed.data)

    for bad in (tampered, relabelled):
        with pytest.raises(PayloadKeyError):
            await codec.decode([bad])


async def test_payloads_from_before_encryption_still_decode() -> None:
    codec = EncryptionCodec(*ephemeral_keyring())

    assert await codec.decode([payload()]) == [payload()]


def test_asvs_13_3_1_the_public_dev_payload_key_is_refused_outside_dev(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILFLIP_ENV", "prod")
    monkeypatch.setenv("MAILFLIP_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())
    monkeypatch.delenv("MAILFLIP_PAYLOAD_KEYS", raising=False)
    with pytest.raises(ValidationError, match="MAILFLIP_PAYLOAD_KEYS is required"):
        Settings()
    monkeypatch.setenv("MAILFLIP_PAYLOAD_KEYS", f"mine:{key()},{DEV_PAYLOAD_KEYS}")
    with pytest.raises(ValidationError, match="MAILFLIP_PAYLOAD_KEYS to a key of your own"):
        Settings()
    monkeypatch.setenv("MAILFLIP_PAYLOAD_KEYS", f"mine:{key()}")
    assert Settings().payload_keyring()[0] == "mine"


@pytest.mark.parametrize(("text", "says"), [
    ("nocolon", "item 1"), ("a:short", "key 'a'"), ("a b:" + "A" * 44, "item 1"),
    ("a:{k},a:{k}", "given twice")])
def test_bad_payload_keys_are_refused_naming_the_setting_never_the_key(
        text: str, says: str) -> None:
    k = key()
    with pytest.raises(ValueError, match=says) as caught:
        parse_payload_keys(text.format(k=k))
    assert "MAILFLIP_PAYLOAD_KEYS" in str(caught.value) and k not in str(caught.value)


async def test_asvs_11_3_2_failure_messages_travel_encoded() -> None:
    from temporalio.api.failure.v1 import Failure
    from temporalio.exceptions import ApplicationError

    converter = data_converter(ephemeral_keyring())
    failure = Failure()
    await converter.encode_failure(ApplicationError("mailbox ann@contoso.example refused"),
                                   failure)

    assert "contoso" not in str(failure)
    assert "ann@contoso.example" in str(await converter.decode_failure(failure))


def test_mailflip_keys_payload_prints_a_key_the_settings_take() -> None:
    import subprocess
    import sys

    made = subprocess.run([str(Path(sys.prefix) / "bin" / "mailflip"), "keys", "payload",
                           "--id", "k2"], capture_output=True, text=True, check=True)

    current, keys = parse_payload_keys(made.stdout.strip())
    assert current == "k2" and len(keys["k2"]) == 32
