"""Temporal data converter: JSON payloads, zlib-compressed when large, then encrypted.

Every payload a client or worker sends (workflow inputs, state across continue-as-new,
Update, signal and query arguments and results, activity inputs and results) leaves
the process encrypted with AES-256-GCM (`EncryptionCodec`): the Temporal server, its
database and its UI see ciphertext and a key id only. Each payload names the key that
sealed it, so keys rotate: new payloads use the newest key, older ones still decrypt
while their key is listed (MAILFLIP_PAYLOAD_KEYS, newest first). Support staff read the
histories decrypted through the codec endpoint (web/codec.py).

Compression comes first (ciphertext does not compress): an order with 10,000 mailboxes
carries its state through continue-as-new, and compressed it stays far below Temporal's
2 MB payload limit.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from .fastjson import PayloadConverter

ENCODING = b"binary/zlib"
THRESHOLD = 16 * 1024
ENCRYPTED = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE = 12


def compress(p: Payload) -> Payload:
    raw = p.SerializeToString()
    if len(raw) < THRESHOLD:
        return p
    return Payload(metadata={"encoding": ENCODING}, data=zlib.compress(raw, 6))


def decompress(p: Payload) -> Payload:
    if p.metadata.get("encoding") != ENCODING:
        return p
    inner = Payload()
    inner.ParseFromString(zlib.decompress(p.data))
    return inner


class PayloadKeyError(ValueError):
    """A payload that cannot be decrypted: its key is not listed, or it was altered."""


class EncryptionCodec(PayloadCodec):
    """zlib (above 16 KB), then AES-256-GCM with a random 96-bit nonce per payload; the
    key id is the associated data, so a payload cannot be passed off under another key.
    A payload that is not encrypted decodes as it is (histories from before encryption
    replay); one under an unknown key, or altered, fails naming the key id only."""

    def __init__(self, current: str, keys: Mapping[str, bytes]) -> None:
        if current not in keys:
            raise ValueError(f"payload key {current!r} is not among the keys")
        self.current = current
        self.ciphers = {kid: AESGCM(key) for kid, key in keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.seal(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.open(p) for p in payloads]

    def seal(self, p: Payload) -> Payload:
        nonce = os.urandom(NONCE)
        kid = self.current.encode()
        sealed = self.ciphers[self.current].encrypt(
            nonce, compress(p).SerializeToString(), kid)
        return Payload(metadata={"encoding": ENCRYPTED, KEY_ID: kid}, data=nonce + sealed)

    def open(self, p: Payload) -> Payload:
        if p.metadata.get("encoding") != ENCRYPTED:
            return decompress(p)
        kid = p.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self.ciphers.get(kid)
        if cipher is None:
            raise PayloadKeyError(f"payload sealed with key {kid!r}, which is not among "
                                  "MAILFLIP_PAYLOAD_KEYS")
        try:
            raw = cipher.decrypt(p.data[:NONCE], p.data[NONCE:], kid.encode())
        except InvalidTag:
            raise PayloadKeyError(f"payload under key {kid!r} does not decrypt: altered, "
                                  "or another key of that id") from None
        inner = Payload()
        inner.ParseFromString(raw)
        return decompress(inner)


def ephemeral_keyring() -> tuple[str, dict[str, bytes]]:
    """A key of this process alone, for histories that never outlive it (the
    simulator's time-skipping server)."""
    return "run", {"run": AESGCM.generate_key(bit_length=256)}


def data_converter(keyring: tuple[str, Mapping[str, bytes]]) -> DataConverter:
    """JSON (fast for dataclasses: fastjson.py, the same JSON as the SDK's), zlib above
    16 KB, encrypted with `keyring` (Settings.payload_keyring(): the newest key id and
    every key). Failures' messages and stack traces travel as an encoded payload too
    (they can name a mailbox). Clients and workers must use the same keys."""
    return dataclasses.replace(
        DataConverter.default, payload_converter_class=PayloadConverter,
        payload_codec=EncryptionCodec(*keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes)
