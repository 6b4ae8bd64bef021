"""`check_request`: one Graph request (method, URL, JSON body) against the v1.0 metadata.

Order of checks: URL (version, then each path segment), method for what the path
addresses, query options, body. The first fault raises `GraphNonConformant` naming the
segment, option or property at fault, so an adapter test or the simulator's 400 says
exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mailflip.tenant.conformance.csdl import Model, load_model
from mailflip.tenant.conformance.paths import Call, Kind, Target, resolve, split_url
from mailflip.tenant.conformance.query import check_query
from mailflip.tenant.conformance.spec import GRAPH_METADATA, spec_file
from mailflip.tenant.conformance.values import Values

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
BATCH_LIMIT = 20  # Graph's JSON batch takes at most 20 requests
_BATCH_KEYS = {"id", "method", "url", "headers", "body", "dependsOn"}


def graph_model(spec_dir: Path | None = None) -> Model:
    """The indexed v1.0 metadata; parsed on first use, then cached per file."""
    return load_model(spec_file(spec_dir, GRAPH_METADATA))


def check_request(method: str, url_or_path: str, body: object = None, *,
                  spec_dir: Path | None = None) -> None:
    """Refuse (GraphNonConformant) a request Graph v1.0's metadata does not allow.

    `url_or_path` is an absolute URL on any host (national clouds, the simulator) under
    /v1.0/, or a path below it (`/users/{id}`). `body` is the parsed JSON body; a str or
    bytes body (raw MIME, a photo) is not inspected.
    """
    _check(graph_model(spec_dir), method, url_or_path, body, batch_item="")


def _check(model: Model, method: str, url: str, body: object, *, batch_item: str) -> None:
    verb = method.upper()
    call = Call(f"{batch_item}{verb} {url}")
    if verb not in METHODS:
        call.fail(method, f"{method!r} is not an HTTP method Graph serves")
    segments, query = split_url(call, url, in_batch=bool(batch_item))
    target = resolve(model, call, segments)
    if target.kind is Kind.BATCH and batch_item:
        call.fail("$batch", "a $batch cannot contain another $batch")
    allowed = allowed_methods(target)
    if verb not in allowed:
        call.fail(verb, f"{verb} is not allowed on {target.describe()}: "
                  f"use {' or '.join(allowed)}" + _method_hint(target, verb))
    check_query(model, call, target, query)
    _check_body(model, call, verb, target, body)


def allowed_methods(target: Target) -> tuple[str, ...]:
    """What each kind of path takes; writes go where the entities live (entity set,
    singleton, containment), references are changed through `$ref`."""
    match target.kind:
        case Kind.COLLECTION:
            return ("GET", "POST") if target.owned else ("GET",)
        case Kind.ENTITY if target.singleton:
            return ("GET", "PATCH")
        case Kind.ENTITY:
            if target.owned:
                return ("GET", "PATCH", "PUT", "DELETE")
            # an entity reached by key through a non-containment navigation property
            # (/directory/deletedItems/{id}) can be deleted; a single-valued one cannot
            return ("GET", "DELETE") if target.keyed else ("GET",)
        case Kind.COMPLEX:
            return ("GET", "PATCH", "PUT")
        case Kind.PRIMITIVE:
            return ("GET", "PUT")
        case Kind.REF if target.collection:
            return ("GET", "POST")
        case Kind.REF:
            return ("DELETE",) if target.keyed else ("GET", "PUT", "DELETE")
        case Kind.ACTION | Kind.BATCH:
            return ("POST",)
        case Kind.VALUE:
            return ("GET", "PUT")
    return ("GET",)  # functions, $count, $metadata


def _method_hint(target: Target, verb: str) -> str:
    if target.kind is Kind.COLLECTION and verb == "POST" and target.via_nav:
        return " (not a containment navigation property: add a reference with POST .../$ref)"
    if target.kind is Kind.ACTION:
        return " (actions are called with POST)"
    if target.kind is Kind.FUNCTION:
        return " (functions are called with GET)"
    return ""


def _check_body(model: Model, call: Call, verb: str, target: Target, body: object) -> None:
    if verb in ("GET", "DELETE"):
        if body is not None:
            call.fail("body", f"{verb} takes no body")
        return
    values = Values(model, call)
    if target.kind is Kind.BATCH:
        _check_batch(model, call, body)
    elif target.kind is Kind.ACTION:
        values.parameters(target.operations, body)
    elif target.kind is Kind.REF:
        values.ref_body(target, body)
    elif isinstance(body, str | bytes) or target.kind in (Kind.VALUE, Kind.PRIMITIVE):
        return  # raw content (MIME, media) or a primitive value: not JSON properties
    elif body is None:
        call.fail("body", f"{verb} to {target.describe()} needs a JSON object of {target.type}")
    else:
        values.structured(target.type, body, "")


def _check_batch(model: Model, call: Call, body: object) -> None:
    if not isinstance(body, Mapping) or set(body) != {"requests"}:
        call.fail("body", 'a $batch body is {"requests": [...]}')
    requests = body["requests"]
    if not isinstance(requests, list) or not 1 <= len(requests) <= BATCH_LIMIT:
        call.fail("requests", f"a $batch holds 1 to {BATCH_LIMIT} requests")
    ids = [r.get("id") if isinstance(r, Mapping) else None for r in requests]
    for i, request in enumerate(requests):
        where = f"requests[{i}]"
        if not isinstance(request, Mapping):
            call.fail(where, f"{where} is not a JSON object")
        _check_batch_item(call, request, where, ids, i)
        _check(model, str(request["method"]), str(request["url"]), request.get("body"),
               batch_item=f"$batch {where} (id {request['id']!r}): ")


def _check_batch_item(call: Call, request: Mapping[str, object], where: str,
                      ids: list[object], index: int) -> None:
    for key in request:
        if key not in _BATCH_KEYS:
            call.fail(f"{where}.{key}", f"{key!r} is not a field of a $batch request "
                      f"({', '.join(sorted(_BATCH_KEYS))})")
    for key in ("id", "method", "url"):
        if not isinstance(request.get(key), str) or not request[key]:
            call.fail(f"{where}.{key}", f"a $batch request needs {key!r} (a string)")
    if ids.count(request["id"]) > 1:
        call.fail(f"{where}.id", f"id {request['id']!r} is used by more than one request")
    headers = request.get("headers", {})
    if not isinstance(headers, Mapping):
        call.fail(f"{where}.headers", "headers is a JSON object")
    if "body" in request and not any(str(h).lower() == "content-type" for h in headers):
        call.fail(f"{where}.headers", "a $batch request with a body needs a Content-Type header")
    depends = request.get("dependsOn", [])
    if not isinstance(depends, list):
        call.fail(f"{where}.dependsOn", "dependsOn is an array of request ids")
    for dep in depends:
        if dep not in ids or dep == request["id"]:
            call.fail(f"{where}.dependsOn", f"dependsOn {dep!r} names no other request "
                      "of this batch")
