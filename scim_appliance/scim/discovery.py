"""Discovery endpoints (RFC 7644 §4): what the appliance implements, and nothing more."""

from __future__ import annotations

from flask import current_app, request

from ..domain.protocol.errors import Forbidden, NotFound, NotImplementedScim
from ..domain.protocol.schema import ALL_SCHEMAS, LIST_RESPONSE, RESOURCE_TYPES
from .blueprint import base_url, bp
from .http import scim_response

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def _refuse_filters() -> None:
    """RFC 7644 §4: filtering discovery lists is not supported; SHOULD answer 403."""
    if "filter" in request.args:
        raise Forbidden("filtering is not supported on this discovery endpoint; "
                        "request the full list")


def _list_response(resources: list[dict]):
    return scim_response({"schemas": [LIST_RESPONSE], "totalResults": len(resources),
                          "itemsPerPage": len(resources), "startIndex": 1,
                          "Resources": resources})


@bp.get("/ServiceProviderConfig", strict_slashes=False)
def service_provider_config():
    config = current_app.config
    return scim_response({
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": config["SCIM_MAX_RESULTS"]},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Secret Token",
            "description": "A bearer token issued by 'scim-appliance token issue', sent as "
                           "'Authorization: Bearer <token>'.",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
            "primary": True,
        }],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{base_url()}/ServiceProviderConfig"},
    })


@bp.get("/ResourceTypes", strict_slashes=False)
def resource_types():
    _refuse_filters()
    base = base_url()
    return _list_response([t.to_rfc(f"{base}/ResourceTypes/{t.name}") for t in RESOURCE_TYPES])


@bp.get("/ResourceTypes/<name>")
def resource_type(name):
    for rtype in RESOURCE_TYPES:
        if rtype.name.lower() == name.lower():
            return scim_response(rtype.to_rfc(f"{base_url()}/ResourceTypes/{rtype.name}"))
    raise NotFound(f"no resource type '{name}'")


@bp.get("/Schemas", strict_slashes=False)
def schemas():
    _refuse_filters()
    base = base_url()
    return _list_response([s.to_rfc(f"{base}/Schemas/{s.id}") for s in ALL_SCHEMAS])


@bp.get("/Schemas/<path:schema_id>")
def schema(schema_id):
    for schema_def in ALL_SCHEMAS:
        if schema_def.id.lower() == schema_id.lower():
            return scim_response(schema_def.to_rfc(f"{base_url()}/Schemas/{schema_def.id}"))
    raise NotFound(f"no schema '{schema_id}'")


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], strict_slashes=False)
def me():
    """RFC 7644 §3.11: a provider without /Me SHOULD answer 501."""
    raise NotImplementedScim("/Me is not supported: the appliance's only client is the "
                             "provisioning service, which has no user identity")


@bp.route("/Bulk", methods=["GET", "POST"], strict_slashes=False)
def bulk():
    """Bulk is advertised as unsupported in /ServiceProviderConfig (RFC 7644 §3.7)."""
    raise NotImplementedScim("bulk operations are not supported; send one request per "
                             "resource")
