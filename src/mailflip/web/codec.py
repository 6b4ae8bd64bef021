"""The payload codec endpoint: the Temporal UI shows decrypted workflow histories to
support staff who are signed in to the portal, and to nobody else.

The Temporal UI (its "codec server" setting, or the dev server's `--ui-codec-endpoint`
that `mailflip up` passes) POSTs `{"payloads": [...]}` to ENDPOINT/decode (and
/encode, for what it sends) from the browser. The caller is a support account: the
portal's session cookie (the UI must include cross-origin credentials) or a support
account's API token. Only the configured Temporal UI's origin gets CORS headers, so
no other site can read an answer; only JSON bodies are taken, so a plain cross-site
form cannot even ask.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from mailflip.domain.names import Role

from .gate import Gate


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def codec_routes(app: FastAPI, gate: Gate, codec: PayloadCodec, temporal_ui: str) -> None:
    ui_origin = origin_of(temporal_ui)

    def cors(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin", "")
        if not ui_origin or origin != ui_origin:
            return {}
        return {"Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}

    @app.options("/codec/{op}", include_in_schema=False)
    async def preflight(request: Request, op: str) -> Response:
        allowed = cors(request)
        if not allowed or op not in ("decode", "encode"):
            return Response(status_code=403)
        return Response(status_code=204, headers={
            **allowed, "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "content-type, x-namespace, authorization",
            "Access-Control-Max-Age": "600"})

    async def transform(request: Request, op: str) -> Response:
        headers = cors(request)
        if request.headers.get("content-type", "").split(";")[0].strip() != \
                "application/json":
            return JSONResponse({"error": "send the payloads as application/json"},
                                status_code=415, headers=headers)
        account = gate.account_of(request, touch=False) if not request.headers.get(
            "authorization") else _token_account(gate, request)
        if account is None:
            return JSONResponse({"error": "sign in to the portal as support first"},
                                status_code=401, headers=headers)
        if account.role != Role.SUPPORT:
            return JSONResponse({"error": "decoded histories are for support accounts"},
                                status_code=403, headers=headers)
        try:
            body = await request.json()
            payloads = json_format.ParseDict({"payloads": body.get("payloads", [])},
                                             Payloads()).payloads
        except (ValueError, AttributeError, json_format.ParseError):
            return JSONResponse({"field": "payloads", "error": "not a list of payloads"},
                                status_code=422, headers=headers)
        try:
            out = await (codec.decode(payloads) if op == "decode" else codec.encode(payloads))
        except ValueError as exc:  # a key that is not listed: its id, never a key
            return JSONResponse({"error": str(exc)}, status_code=422, headers=headers)
        answer: Any = json_format.MessageToDict(Payloads(payloads=out))
        return JSONResponse({"payloads": answer.get("payloads", [])}, headers=headers)

    @app.post("/codec/decode", include_in_schema=False)
    async def decode(request: Request) -> Response:
        return await transform(request, "decode")

    @app.post("/codec/encode", include_in_schema=False)
    async def encode(request: Request) -> Response:
        return await transform(request, "encode")


def _token_account(gate: Gate, request: Request) -> Any:
    try:
        return gate.api_account(request)
    except HTTPException:
        return None
