"""SCIM errors (RFC 7644 §3.12): one class per `scimType`, each knowing its status.

Domain code raises these; the HTTP layer renders any of them with one handler. The
`detail` is shown to administrators in Entra's provisioning logs, so it says what was
wrong and, where we can tell, what to change.
"""

from __future__ import annotations

from .schema import ERROR


class ScimError(Exception):
    """A failure the client can act on; never carries secrets in `detail`."""

    status = 400
    scim_type: str | None = None

    def __init__(self, detail: str, *, status: int | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def to_dict(self) -> dict:
        body = {"schemas": [ERROR], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class InvalidFilter(ScimError):
    scim_type = "invalidFilter"


class TooMany(ScimError):
    scim_type = "tooMany"


class Uniqueness(ScimError):
    status = 409
    scim_type = "uniqueness"


class Mutability(ScimError):
    scim_type = "mutability"


class InvalidSyntax(ScimError):
    scim_type = "invalidSyntax"


class InvalidPath(ScimError):
    scim_type = "invalidPath"


class NoTarget(ScimError):
    scim_type = "noTarget"


class InvalidValue(ScimError):
    scim_type = "invalidValue"


class InvalidVersion(ScimError):
    scim_type = "invalidVers"


class NotFound(ScimError):
    status = 404


class Unauthorized(ScimError):
    status = 401

    def __init__(self, detail: str):
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="scim-appliance"'})


class Forbidden(ScimError):
    status = 403


class PreconditionFailed(ScimError):
    status = 412


class PayloadTooLarge(ScimError):
    status = 413


class NotImplementedScim(ScimError):
    status = 501
