"""Reading and writing SCIM resource documents, with attribute names matched
case-insensitively (RFC 7643 §2.1) and extension attributes under their schema URN.
"""

from __future__ import annotations

from .schema import Attribute, ResourceType


def is_blank(value) -> bool:
    """null or "": what PATCH treats as "clear this" (Microsoft's null-update test)."""
    return value is None or value == ""


def is_empty(value) -> bool:
    """Blank, or an empty list or object: "unassigned" (RFC 7643 §2.5)."""
    return is_blank(value) or (isinstance(value, (list, dict)) and not value)


def container_of(doc: dict, attr: Attribute, rtype: ResourceType, *, create: bool) -> dict | None:
    """The dict holding `attr`: the doc itself, or the extension object under its URN."""
    if not attr.schema or attr.schema == rtype.core.id:
        return doc
    found = get_attr(doc, attr.schema)
    if isinstance(found, dict):
        return found
    if not create:
        return None
    found = {}
    put_attr(doc, attr.schema, found)
    return found


def drop_empty_extensions(doc: dict, rtype: ResourceType) -> None:
    """An extension object left with no attributes is dropped, not kept as `{}`."""
    for ext in rtype.extensions:
        if attr_key(doc, ext.id) is not None and is_empty(get_attr(doc, ext.id)):
            pop_attr(doc, ext.id)


def elements_of(container: dict, attr: Attribute) -> list:
    """A copy of a multi-valued attribute's elements (a lone value counts as one)."""
    current = get_attr(container, attr.name)
    if isinstance(current, list):
        return list(current)
    return [] if current is None else [current]


def store_attr(container: dict, name: str, value) -> None:
    """Write a value, dropping the attribute when nothing is left of it."""
    if is_empty(value):
        pop_attr(container, name)
    else:
        put_attr(container, name, value)


def attr_key(obj: dict, name: str) -> str | None:
    """The key `name` is stored under, matched case-insensitively (RFC 7643 §2.1)."""
    if name in obj:
        return name
    lowered = name.lower()
    return next((k for k in obj if isinstance(k, str) and k.lower() == lowered), None)


def get_attr(obj, name: str):
    """The value stored under `name` in any case, or None (also for a non-object)."""
    if not isinstance(obj, dict):
        return None
    key = attr_key(obj, name)
    return None if key is None else obj[key]


def put_attr(obj: dict, name: str, value) -> None:
    """Store under the canonical `name`, replacing any differently-cased key."""
    pop_attr(obj, name)
    obj[name] = value


def pop_attr(obj: dict, name: str) -> None:
    """Remove `name` in every case it is stored under."""
    lowered = name.lower()
    for key in [k for k in obj if isinstance(k, str) and k.lower() == lowered]:
        del obj[key]
