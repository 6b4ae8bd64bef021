"""Seal committed histories' payloads with the replay test key, in place, as a worker
with the payload codec would have written them: every payload the SDK passes through
its codec (inputs, results, Update and signal arguments); not the patch markers (the
SDK's core writes and reads those itself) nor search attributes (the server reads them).
Payloads already sealed are left as they are.

    .venv/bin/python -m tests.replay.seal_histories
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload

from mailflip.lifecycle.converter import ENCRYPTED, EncryptionCodec

from . import TEST_KEYRING

HISTORIES = Path(__file__).parent / "histories"
NOT_CODEC = {"markerRecordedEventAttributes", "searchAttributes"}


def seal(node: Any, codec: EncryptionCodec) -> Any:
    if isinstance(node, list):
        return [seal(v, codec) for v in node]
    if not isinstance(node, dict):
        return node
    if "metadata" in node and "data" in node:
        p = json_format.ParseDict(node, Payload())
        if p.metadata.get("encoding") == ENCRYPTED:
            return node
        return json_format.MessageToDict(codec.seal(p))
    return {k: v if k in NOT_CODEC else seal(v, codec) for k, v in node.items()}


def main() -> None:
    codec = EncryptionCodec(*TEST_KEYRING)
    for path in sorted(HISTORIES.glob("*.json")):
        path.write_text(json.dumps(seal(json.loads(path.read_text()), codec), indent=2) + "\n")
        print(f"sealed {path.name}")


if __name__ == "__main__":
    main()
