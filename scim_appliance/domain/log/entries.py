"""Turn the facts of one SCIM request into a provisioning-log entry (no Flask, no DB).

The HTTP layer hands over what it saw (method, path, status, the raw bodies it already
had) and this module decides what happened, like Entra's "provisioning details" seen
from the appliance: created, updated with the attributes changed, disabled, enabled,
members added/removed, deleted, matched by filter, rejected. It runs on the log
writer's thread, so parsing bodies here costs the SCIM request nothing.

What is kept: attribute *paths* from PATCH operations, never their values (the one
exception is `active`, reported as disabled/enabled); names of the objects concerned;
the error `scimType` and `detail`. Never the token, never passwords, never bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import orjson

from ..protocol import json_input
from .failure_kinds import classify

PREFIXES = ("/scim/v2", "/scim")
RESOURCES = {"Users": "User", "Groups": "Group"}
DISCOVERY = {"ServiceProviderConfig", "Schemas", "ResourceTypes"}
NAME_ATTRS = {"User": "userName", "Group": "displayName"}
CORE_URNS = ("urn:ietf:params:scim:schemas:core:2.0:user:",
             "urn:ietf:params:scim:schemas:core:2.0:group:")
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"
MAX_ID = 200
MAX_TEXT = 1000
# Entra matches on one attribute: `userName eq "x"` / `displayName eq "x"`.
_MATCH = re.compile(r'^\s*(userName|displayName)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.I)
_TOTAL = re.compile(rb'"totalResults"\s*:\s*(\d+)')
_VALUE_EQ = re.compile(r"value\s+eq\s", re.I)


@dataclass(frozen=True)
class RequestFacts:
    """What the HTTP layer saw; bodies are the bytes it already held (may be None)."""

    request_id: str
    at: datetime
    client: str | None
    method: str
    path: str  # without the query string
    filter: str | None
    status: int
    duration_us: int
    # Passed the token check: a matched route that did not answer 401.
    authenticated: bool
    request_body: bytes | None = None
    response_body: bytes | None = None
    # Why it did not pass the token check (log/auth_failures.py reasons): such a
    # request is counted there, never stored as an entry.
    refusal: str | None = None


@dataclass
class Entry:
    """One provisioning-log row, before storage (see models.ProvisioningLogEntry)."""

    request_id: str
    at: datetime
    client: str | None
    method: str
    path: str
    resource_type: str | None
    resource_id: str | None
    resource_name: str | None
    operation: str
    action: str
    status: int
    duration_us: int
    authenticated: bool
    changes: dict | None = None
    scim_type: str | None = None
    detail: str | None = None
    failure_kind: str | None = None


def describe(facts: RequestFacts) -> Entry:
    """Decide what one request did, from its method, path, status and bodies.

    A request that did not pass the token check is about no user or group: its path,
    filter and bodies are the sender's words, not facts (issue 13).
    """
    if not facts.authenticated:
        return _refused(facts)
    rtype, resource_id, operation = _route(facts.method, facts.path)
    request_json = _json(facts.request_body) if facts.status not in (401, 403, 413) else None
    response_json = _own_json(facts.response_body)
    entry = Entry(request_id=facts.request_id, at=facts.at, client=_clip(facts.client, 64),
                  method=facts.method, path=_clip(facts.path, MAX_TEXT), resource_type=rtype,
                  resource_id=resource_id, resource_name=None, operation=operation,
                  action="rejected" if facts.status >= 400 else _DONE.get(operation, operation),
                  status=facts.status, duration_us=facts.duration_us,
                  authenticated=facts.authenticated)
    name_attr = NAME_ATTRS.get(rtype or "")
    if isinstance(response_json, dict) and name_attr and "id" in response_json:
        entry.resource_id = entry.resource_id or _clip(response_json.get("id"), MAX_ID)
        entry.resource_name = _text(response_json.get(name_attr))
    if entry.resource_name is None and isinstance(request_json, dict) and name_attr \
            and operation in ("create", "replace"):
        entry.resource_name = _text(_get_ci(request_json, name_attr))
    if operation == "update" and isinstance(request_json, dict):
        entry.changes = summarize_patch(request_json)
        if facts.status < 400:
            entry.action = _patch_action(entry.changes)
    elif operation == "replace" and isinstance(request_json, dict):
        entry.changes = {"attributes": _top_level_attributes(request_json)}
    elif operation == "query":
        _describe_query(entry, facts, request_json, response_json)
    if facts.status >= 400:
        if isinstance(response_json, dict):
            entry.scim_type = _clip(response_json.get("scimType"), 32)
            entry.detail = _clip(response_json.get("detail"), MAX_TEXT)
        entry.failure_kind = classify(facts.status, entry.scim_type, entry.detail)
    return entry


def _refused(facts: RequestFacts) -> Entry:
    return Entry(request_id=facts.request_id, at=facts.at, client=_clip(facts.client, 64),
                 method=_clip(facts.method, 16), path=_clip(facts.path, 200),
                 resource_type=None, resource_id=None, resource_name=None,
                 operation="unknown", action="rejected", status=facts.status,
                 duration_us=facts.duration_us, authenticated=False,
                 failure_kind=classify(facts.status, None, None))


_DONE = {"create": "created", "replace": "replaced", "update": "updated",
         "delete": "deleted", "read": "read", "discovery": "read", "query": "listed"}


def _route(method: str, path: str) -> tuple[str | None, str | None, str]:
    """(resource type, resource id, operation) from the SCIM path."""
    rest = path
    for prefix in PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix):]
            break
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return None, None, "unknown"
    head = parts[0]
    if head == ".search" and len(parts) == 1:  # root search: every resource type
        return None, None, "query" if method == "POST" else "unknown"
    if head in DISCOVERY:
        return head, _clip(parts[1], MAX_ID) if len(parts) > 1 else None, "discovery"
    rtype = RESOURCES.get(head)
    if rtype is None or len(parts) > 2:
        return None, None, "unknown"
    if len(parts) == 1:
        return rtype, None, {"GET": "query", "HEAD": "query", "POST": "create"}.get(
            method, "unknown")
    if parts[1] == ".search":
        return rtype, None, "query" if method == "POST" else "unknown"
    operation = {"GET": "read", "HEAD": "read", "PUT": "replace", "PATCH": "update",
                 "DELETE": "delete"}.get(method, "unknown")
    return rtype, _clip(parts[1], MAX_ID), operation


def _describe_query(entry: Entry, facts: RequestFacts, request_json, response_json) -> None:
    filter_text = facts.filter
    if isinstance(request_json, dict):  # POST .search carries the filter in the body
        filter_text = _text(_get_ci(request_json, "filter")) or filter_text
    changes: dict = {}
    if filter_text:
        changes["filter"] = _clip(filter_text, MAX_TEXT)
        match = _MATCH.match(filter_text)
        if match and NAME_ATTRS.get(entry.resource_type or "", "").lower() == \
                match.group(1).lower():
            entry.resource_name = re.sub(r"\\(.)", r"\1", match.group(2))
    total = None
    if isinstance(response_json, dict):
        total = response_json.get("totalResults")
        resources = response_json.get("Resources")
        if total == 1 and isinstance(resources, list) and len(resources) == 1 \
                and isinstance(resources[0], dict):
            entry.resource_id = _clip(resources[0].get("id"), MAX_ID)
    elif facts.response_body:
        found = _TOTAL.search(facts.response_body[:2048])
        total = int(found.group(1)) if found else None
    if isinstance(total, int):
        changes["results"] = total
    entry.changes = changes or None
    if facts.status < 400 and filter_text:
        entry.action = "matched"


def summarize_patch(body: dict) -> dict:
    """What a PatchOp message changes: attribute paths, `active`, member counts.

    Both Entra dialects (the aadOptscim062020 flag): one op per path, or a
    no-path op whose value object has dotted and URN-qualified keys. Values are never
    kept, except `active` as a boolean.
    """
    summary = _PatchSummary()
    operations = _get_ci(body, "Operations")
    for op in operations if isinstance(operations, list) else []:
        if not isinstance(op, dict):
            continue
        name = str(_get_ci(op, "op") or "").lower()
        path = _get_ci(op, "path")
        value = _get_ci(op, "value")
        if isinstance(path, str) and path.strip():
            summary.add(name, path.strip(), value)
        elif isinstance(value, dict):
            for key, item in value.items():
                summary.add(name, str(key), item)
    return summary.as_dict()


class _PatchSummary:
    def __init__(self):
        self.attributes: dict[str, None] = {}
        self.active: bool | None = None
        self.added = 0
        self.removed = 0
        self.removed_all = False
        self.replaced: int | None = None

    def add(self, op: str, path: str, value) -> None:
        short = _short_path(path)
        head = re.split(r"[.\[]", short, maxsplit=1)[0].lower()
        if head == "members":
            self._members(op, short, value)
        elif head == "active" and op != "remove" and _boolean(value) is not None:
            self.active = _boolean(value)
        else:
            self.attributes.setdefault(short, None)

    def _members(self, op: str, path: str, value) -> None:
        count = len(value) if isinstance(value, list) else (1 if isinstance(value, dict) else 0)
        if op == "add":
            self.added += count
        elif op == "replace":
            self.replaced = count
        elif op == "remove":
            if "[" in path:
                self.removed += max(1, len(_VALUE_EQ.findall(path)))
            elif count:
                self.removed += count
            else:
                self.removed_all = True

    def as_dict(self) -> dict:
        out: dict = {}
        if self.attributes:
            out["attributes"] = list(self.attributes)
        if self.active is not None:
            out["active"] = self.active
        if self.added:
            out["members_added"] = self.added
        if self.removed:
            out["members_removed"] = self.removed
        if self.removed_all:
            out["members_removed_all"] = True
        if self.replaced is not None:
            out["members_replaced"] = self.replaced
        return out


def _patch_action(changes: dict) -> str:
    if "active" in changes:
        return "enabled" if changes["active"] else "disabled"
    if not changes.get("attributes") and any(k.startswith("members") for k in changes):
        return "members_changed"
    return "updated"


def _short_path(path: str) -> str:
    """Drop the core schema URN; abbreviate the enterprise extension to `enterprise:`."""
    lowered = path.lower()
    for urn in CORE_URNS:
        if lowered.startswith(urn):
            return path[len(urn):]
    if lowered.startswith(ENTERPRISE_URN):
        return "enterprise:" + path[len(ENTERPRISE_URN):]
    return _clip(path, 200)


def _top_level_attributes(body: dict) -> list[str]:
    skip = {"schemas", "id", "meta"}
    return [_short_path(k) for k in body if isinstance(k, str) and k.lower() not in skip]


def _boolean(value) -> bool | None:
    # Entra sends JSON booleans or the strings "True"/"False" (any case).
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _get_ci(obj: dict, key: str):
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return None


def _own_json(raw: bytes | None):
    """A response body the appliance wrote (orjson: a third of the writer's parsing)."""
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # clipped at RESPONSE_BODY_LIMIT
        return None


def _json(raw: bytes | None):
    if not raw:
        return None
    try:
        return json_input.loads(raw)
    except (ValueError, RecursionError):
        return None


def _text(value) -> str | None:
    return _clip(value, MAX_TEXT) if isinstance(value, str) else None


def _clip(value, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"
