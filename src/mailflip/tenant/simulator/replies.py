"""Graph's and Exchange Online's error replies, as exceptions the handlers raise.

One exception type per service keeps handlers linear: they raise where the real service
would refuse, and the route (or the `$batch` loop) turns it into the reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_EMULATED = "NotEmulated"


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class GraphError(Exception):
    """A Graph error reply: `{"error": {"code", "message", "details"?}}`."""

    def __init__(self, status: int, code: str, message: str, *,
                 details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def reply(self) -> Reply:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return Reply(self.status, {"error": error}, dict(self.headers))


def not_found(object_id: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{object_id}' does not exist or one of its queried "
                      "reference-property objects are not present.")


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def conflict(prop: str) -> GraphError:
    return GraphError(400, "Request_BadRequest",
                      f"Another object with the same value for property {prop} already exists.",
                      details=[{"code": "ObjectConflict", "target": prop}])


def denied(needs: tuple[str, ...]) -> GraphError:
    return GraphError(403, "Authorization_RequestDenied",
                      "Insufficient privileges to complete the operation. The application "
                      f"needs one of these application permissions: {', '.join(needs)}.")


def not_emulated(what: str) -> GraphError:
    # 501, not a silent 200: whoever meets it sees the simulator is unfinished there
    return GraphError(501, NOT_EMULATED, f"The local Microsoft 365 does not emulate {what}.")


class ExoError(Exception):
    """An InvokeCommand error: the cmdlet's exception type and text, as EXO reports them."""

    def __init__(self, status: int, exception: str, message: str, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{exception}: {message}")
        self.status = status
        self.exception = exception
        self.message = message
        self.headers = headers or {}

    def reply(self) -> Reply:
        code = self.exception.rsplit(".", 1)[-1]
        return Reply(self.status, {"error": {
            "code": code, "message": f"|{self.exception}|{self.message}",
            "details": [{"code": code, "message": self.message}]}}, dict(self.headers))


def exo_not_found(identity: str) -> ExoError:
    return ExoError(404, "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                    f"The operation couldn't be performed because object '{identity}' "
                    "couldn't be found on the directory.")


def exo_invalid(message: str) -> ExoError:
    return ExoError(400, "Microsoft.Exchange.Configuration.Tasks.TaskArgumentException", message)


def exo_not_emulated(what: str) -> ExoError:
    return ExoError(501, NOT_EMULATED, f"The local Microsoft 365 does not emulate {what}.")
