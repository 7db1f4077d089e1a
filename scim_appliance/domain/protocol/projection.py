"""`attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to rendered JSON.

Projection works on the resource as rendered, which is small; it never decides
what is fetched from the database except through `wants`, which lets callers skip
expensive parts (a group's member list) that the client excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import InvalidValue
from .filters import resolve_attr_path
from .schema import CORE_GROUP, CORE_USER, Attribute, ResourceType

ALWAYS = {"id", "schemas"}


@dataclass(frozen=True)
class Projection:
    """Which attributes to return: `include` wins over `exclude` when both are given."""

    include: frozenset[tuple[str, str, str | None]] = frozenset()
    exclude: frozenset[tuple[str, str, str | None]] = frozenset()

    def wants(self, attr: Attribute) -> bool:
        """Whether any part of a top-level attribute will be returned."""
        key = (attr.schema, attr.name)
        if self.include:
            return attr.returned == "always" or any(k[:2] == key for k in self.include)
        return not any(k[:2] == key and k[2] is None for k in self.exclude)


def parse_projection(rtype: ResourceType, attributes: str | None,
                     excluded: str | None) -> Projection:
    return Projection(_parse_list(rtype, attributes, "attributes"),
                      _parse_list(rtype, excluded, "excludedAttributes"))


def _parse_list(rtype: ResourceType, text, what: str) -> frozenset:
    if text is None:
        return frozenset()
    if isinstance(text, list):
        items = text
    elif isinstance(text, str):
        items = text.split(",")
    else:
        raise InvalidValue(f"'{what}' must be a comma-separated list of attribute names")
    out = set()
    for raw in items:
        if not isinstance(raw, str):
            raise InvalidValue(f"'{what}' must list attribute names as strings")
        name = raw.strip()
        if not name:
            continue
        schema = _whole_schema(rtype, name)
        if schema is not None:
            out.update((a.schema, a.name, None) for a in schema.attributes)
            continue
        try:
            ref = resolve_attr_path(rtype, name, InvalidValue)
        except InvalidValue:
            # Unknown names select nothing (RFC 7644 does not make them an error, and
            # clients probe with attributes other servers support).
            continue
        out.add((ref.attr.schema, ref.attr.name, ref.sub.name if ref.sub else None))
    return frozenset(out)


def _whole_schema(rtype: ResourceType, name: str):
    """The schema a bare URN names (RFC 7644 §3.10: attributes are named by their schema
    URN; the URN alone stands for all of that schema's attributes), or None."""
    if not name.lower().startswith("urn:"):
        return None
    try:
        schema, rest = rtype.split_urn(name)
    except KeyError:
        return None
    return schema if not rest else None


def apply_projection(resource: dict, rtype: ResourceType, projection: Projection) -> dict:
    """Return a copy of a rendered resource with only the selected attributes."""
    if not projection.include and not projection.exclude:
        return resource
    out = {}
    for key, value in resource.items():
        if key in ALWAYS:
            out[key] = value
            continue
        ext = rtype.extension(key) if key.startswith("urn:") else None
        if ext is not None:
            kept = {}
            for sub_key, sub_value in value.items():
                attr = ext.attribute(sub_key)
                if attr is not None:
                    picked = _select(attr, sub_value, projection)
                    if picked is not None:
                        kept[sub_key] = picked
            if kept:
                out[key] = kept
            continue
        attr = rtype.top_level(key)
        if attr is None:
            out[key] = value
            continue
        picked = _select(attr, value, projection)
        if picked is not None:
            out[key] = picked
    schemas = [s for s in out.get("schemas", []) if s in (CORE_USER, CORE_GROUP) or s in out]
    if "schemas" in out:
        out["schemas"] = schemas
    return out


def _select(attr: Attribute, value, projection: Projection):
    key = (attr.schema, attr.name)
    if attr.returned == "always":
        return value
    if projection.include:
        subs = {k[2] for k in projection.include if k[:2] == key}
        if not subs:
            return None
        if None in subs or not attr.is_complex:
            return value
        return _keep_subs(value, subs)
    subs = {k[2] for k in projection.exclude if k[:2] == key}
    if None in subs:
        return None
    if subs and attr.is_complex:
        return _drop_subs(value, subs)
    return value


def _keep_subs(value, subs: set[str]):
    if isinstance(value, list):
        kept = [{k: v for k, v in e.items() if k in subs} for e in value if isinstance(e, dict)]
        return [e for e in kept if e] or None
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in subs} or None
    return value


def _drop_subs(value, subs: set[str]):
    if isinstance(value, list):
        return [{k: v for k, v in e.items() if k not in subs} for e in value
                if isinstance(e, dict)]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in subs}
    return value
