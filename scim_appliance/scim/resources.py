"""What the /Users and /Groups routes share: request parameters and response shapes."""

from __future__ import annotations

from flask import current_app, request

from ..domain.names.policy import rules_from_config
from ..domain.protocol.errors import NotFound
from ..domain.protocol.projection import parse_projection
from ..domain.protocol.schema import LIST_RESPONSE, ResourceType
from ..domain.query.listing import parse_list_query, parse_search_request, read_by_id
from ..domain.resources.representation import etag
from .blueprint import request_reads
from .http import read_json, scim_response


def projection(rtype: ResourceType):
    """`attributes` / `excludedAttributes` of this request (RFC 7644 §3.9)."""
    return parse_projection(rtype, request.args.get("attributes"),
                            request.args.get("excludedAttributes"))


def name_rules():
    """The configured name rules (domain/names/policy.py; issue 4)."""
    return rules_from_config(current_app.config)


def seat_cap() -> int:
    """MAX_ACTIVE_USERS (domain/resources/seats.py); 0 is no cap."""
    return int(current_app.config.get("MAX_ACTIVE_USERS") or 0)


def if_match() -> str | None:
    return request.headers.get("If-Match")


def list_query(rtype: ResourceType):
    """A GET list's query parameters (RFC 7644 §3.4.2)."""
    return parse_list_query(request.args.to_dict(), rtype,
                            current_app.config["SCIM_MAX_RESULTS"])


def search_query(rtype: ResourceType):
    """A POST .search body (RFC 7644 §3.4.3)."""
    return parse_search_request(read_json(), rtype, current_app.config["SCIM_MAX_RESULTS"])


def read_or_404(model, rtype: ResourceType, resource_id: str):
    row = read_by_id(request_reads(), model, resource_id)
    if row is None:
        raise NotFound(f"no {rtype.name} with id '{resource_id}'")
    return row


def not_modified(row):
    """304 when the client's If-None-Match holds the current version (RFC 7644 §3.14)."""
    if request.if_none_match and request.if_none_match.contains_weak(str(row.version)):
        return scim_response(None, 304, {"ETag": etag(row.version)})
    return None


def resource_response(body: dict, row, status: int = 200, headers: dict | None = None):
    return scim_response(body, status, {"ETag": etag(row.version), **(headers or {})})


def list_response(query, total: int, resources: list[dict]):
    return scim_response({"schemas": [LIST_RESPONSE], "totalResults": total,
                          "itemsPerPage": len(resources), "startIndex": query.start_index,
                          "Resources": resources})


def no_content(row=None):
    return scim_response(None, 204, {"ETag": etag(row.version)} if row is not None else None)
