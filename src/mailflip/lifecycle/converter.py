"""Temporal data converter: JSON payloads, zlib-compressed when large.

An order with 10,000 mailboxes carries its state through continue-as-new; compressed,
it stays far below Temporal's 2 MB payload limit. Small payloads stay plain JSON so
that the Temporal UI shows them as they are.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

from .fastjson import PayloadConverter

ENCODING = b"binary/zlib"
THRESHOLD = 16 * 1024


class ZlibCodec(PayloadCodec):
    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            raw = p.SerializeToString()
            if len(raw) < THRESHOLD:
                out.append(p)
            else:
                out.append(Payload(metadata={"encoding": ENCODING},
                                   data=zlib.compress(raw, 6)))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") == ENCODING:
                inner = Payload()
                inner.ParseFromString(zlib.decompress(p.data))
                out.append(inner)
            else:
                out.append(p)
        return out


def data_converter() -> DataConverter:
    """JSON (fast for dataclasses: fastjson.py, the same JSON as the SDK's), zlib above
    16 KB. Clients and workers must use the same one."""
    return dataclasses.replace(DataConverter.default, payload_converter_class=PayloadConverter,
                               payload_codec=ZlibCodec())
