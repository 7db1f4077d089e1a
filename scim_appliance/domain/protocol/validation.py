"""Validate and canonicalise incoming SCIM resources with marshmallow schemas.

The marshmallow schemas are generated from the attribute definitions in schema.py,
so validation cannot drift from what `/Schemas` advertises. Values are kept exactly
as sent (Entra re-sends anything that comes back different), with two deliberate
exceptions: attribute names are rewritten to their canonical case (RFC 7643 §2.1
makes them case-insensitive), and booleans sent as the strings "True"/"False" (any
case) become JSON booleans, because Entra's default `active` mapping sends strings
and it expects booleans back (Microsoft: SCIM 2.0 compliance, boolean values).

Every string is held to its attribute's maximum length (schema.py, README "Limits") and
may not contain NUL, which PostgreSQL's text and jsonb cannot store; a list is counted
before any of its elements is looked at. So an oversized or unstorable value is refused
here, before the name rules or the database see it.
"""

from __future__ import annotations

import math
import re
from functools import cache

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load

from .errors import InvalidSyntax, InvalidValue
from .filters import parse_datetime
from .schema import COMMON, MAX_VALUES, SHORT_TEXT, Attribute, ResourceType

UNKNOWN_FIELD = "Unknown field."
NUL = "\x00"


def text_problem(value: str, max_length: int = SHORT_TEXT) -> str | None:
    """Why a string cannot be stored (too long, or holds NUL), or None. Length first: it is
    O(1), so a 4 MB string costs nothing more to refuse."""
    if len(value) > max_length:
        return (f"is {len(value):,} characters long; the appliance accepts at most "
                f"{max_length:,}")
    if NUL in value:
        return "contains a NUL character (U+0000), which cannot be stored"
    return None


def check_text(value, what: str, max_length: int = SHORT_TEXT) -> str:
    """`value` as a storable string, or InvalidValue naming `what` (ids from a path, names
    the CLI passes in)."""
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be a string, not {json_type(value)}")
    problem = text_problem(value, max_length)
    if problem:
        raise InvalidValue(f"{what} {problem}")
    return value


# C0, DEL, C1, line and paragraph separators, bidi controls: never echoed raw.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text, limit: int = 64) -> str:
    """An outside name for an error detail: cut short, control characters escaped."""
    text = str(text)
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", cut)


class ScimString(fields.Field):
    """A JSON string, taken exactly as sent (no trimming, no reformatting)."""

    def __init__(self, max_length: int = SHORT_TEXT, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, not {json_type(value)}")
        problem = text_problem(value, self.max_length)
        if problem:
            raise ValidationError(problem)
        return value


class ScimBoolean(fields.Field):
    """A JSON boolean; Entra's "True"/"False" strings (any case) are accepted too."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValidationError(f"must be a boolean (true or false), not {json_type(value)}")


# Integers are stored as 64-bit by PostgreSQL and by orjson (storage/extensions.py); a larger
# one would otherwise come back as a float.
INT64 = range(-(2 ** 63), 2 ** 63)


class ScimInteger(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"must be an integer, not {json_type(value)}")
        if value not in INT64:
            raise ValidationError("must fit in 64 bits (-2^63 to 2^63-1)")
        return value


class ScimDecimal(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"must be a number, not {json_type(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError("must be a finite number")
        if isinstance(value, int) and value not in INT64:
            return float(value)  # a decimal: what JSON numbers of that size mean anyway
        return value


class ScimDateTime(ScimString):
    """An RFC 3339 date-time string; validated, then kept as sent."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError(f"must be a date-time string, not {json_type(value)}")
        value = super()._deserialize(value, attr, data, **kwargs)
        parse_datetime(value, lambda: ValidationError(
            f"'{shown(value)}' is not an RFC 3339 date-time"))
        return value


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class ScimList(fields.List):
    """A multi-valued attribute; `null` elements are dropped rather than refused. The count
    is checked first, so a huge list is refused without reading its elements."""

    def __init__(self, inner, max_values: int, **kwargs):
        super().__init__(inner, **kwargs)
        self.max_values = max_values

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list):
            raise ValidationError(f"must be an array, not {json_type(value)}")
        if len(value) > self.max_values:
            raise ValidationError(f"has {len(value):,} values; the appliance accepts at most "
                                  f"{self.max_values:,} per request")
        return super()._deserialize([v for v in value if v is not None], attr, data, **kwargs)


class _ObjectSchema(Schema):
    """A complex value: keys matched case-insensitively, nulls dropped, unknown refused."""

    scim_attrs: dict[str, Attribute] = {}

    class Meta:
        unknown = RAISE

    @pre_load
    def canonicalise(self, data, **kwargs):
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            attr = self.scim_attrs.get(key.lower())
            if attr is None:
                out[key] = value
                continue
            if value is None or attr.read_only:
                # Read-only values from the client are ignored (RFC 7644 §3.5.1).
                continue
            if attr.name in out:
                raise ValidationError(f"given twice (as '{shown(key)}')", attr.name)
            out[attr.name] = value
        return out


def _field_for(attr: Attribute, required: bool = False) -> fields.Field:
    if attr.is_complex:
        inner = fields.Nested(_object_schema(attr.sub_attributes, attr.name))
    elif attr.type in ("string", "reference", "binary", "dateTime"):
        inner = (ScimDateTime if attr.type == "dateTime" else ScimString)(attr.max_length)
    else:
        inner = {
            "boolean": ScimBoolean,
            "integer": ScimInteger,
            "decimal": ScimDecimal,
        }[attr.type]()
    if attr.multi_valued:
        inner = ScimList(inner, attr.max_values)
    inner.required = required
    return inner


def _object_schema(attrs: tuple[Attribute, ...], name: str) -> type[Schema]:
    declared = {a.name: _field_for(a) for a in attrs if not a.read_only}
    cls = _ObjectSchema.from_dict(declared, name=f"{name}Schema")
    cls.scim_attrs = {a.name.lower(): a for a in attrs}
    return cls


class _ResourceSchema(_ObjectSchema):
    """The top level of a resource: core attributes plus extension objects by URN."""

    rtype: ResourceType

    @pre_load
    def canonicalise(self, data, **kwargs):
        """Fold URN-qualified keys (RFC 7644 §3.10) into place, then canonicalise names."""
        if not isinstance(data, dict):
            return data
        out: dict = {}
        for key, value in data.items():
            if not isinstance(key, str) or not key.lower().startswith("urn:"):
                out[key] = value
                continue
            try:
                schema, rest = self.rtype.split_urn(key)
            except KeyError:
                out[key] = value  # unknown URN: reported as an unknown attribute
                continue
            if schema.id == self.rtype.core.id:
                if rest:
                    out[rest] = value
            elif not rest:
                merged = out.get(schema.id)
                if isinstance(merged, dict) and isinstance(value, dict):
                    value = {**merged, **value}
                out[schema.id] = value
            elif isinstance(out.setdefault(schema.id, {}), dict):
                out[schema.id][rest] = value
        return _ObjectSchema.canonicalise(self, out)


@cache
def _resource_schema(rtype: ResourceType) -> Schema:
    attrs = (*rtype.core.attributes, *[a for a in COMMON if a.name == "externalId"])
    declared = {a.name: _field_for(a, a.required) for a in attrs if not a.read_only}
    for i, ext in enumerate(rtype.extensions):
        # marshmallow reads dots in field names as nesting, and URNs carry "2.0".
        declared[f"_ext{i}"] = fields.Nested(_object_schema(ext.attributes, ext.name),
                                             data_key=ext.id)
    schemas = Attribute(name="schemas", multi_valued=True)
    declared["schemas"] = _field_for(schemas)
    cls = _ResourceSchema.from_dict(declared, name=f"{rtype.name}ResourceSchema")
    index = {a.name.lower(): a for a in (*rtype.core.attributes, *COMMON)}
    for ext in rtype.extensions:
        index[ext.id.lower()] = Attribute(name=ext.id, type="complex", schema=ext.id)
    index["schemas"] = schemas
    cls.scim_attrs = index
    cls.rtype = rtype
    return cls()


def load_resource(payload, rtype: ResourceType) -> dict:
    """Validate a POST/PUT body and return the document to store.

    The returned dict has canonical attribute names, no nulls, no read-only
    attributes, extension attributes under their URN, and no `schemas`.
    Raises InvalidSyntax for structural faults and InvalidValue for bad values.
    """
    if not isinstance(payload, dict):
        raise InvalidSyntax(f"the request body must be a JSON object, not {json_type(payload)}")
    check_schemas(payload, rtype)
    try:
        doc = _resource_schema(rtype).load(payload)
    except ValidationError as exc:
        raise _to_scim_error(exc.messages, rtype) from None
    doc.pop("schemas", None)
    for i, ext in enumerate(rtype.extensions):
        if f"_ext{i}" in doc:
            doc[ext.id] = doc.pop(f"_ext{i}")
    for key in [k for k, v in doc.items() if v in ({}, [])]:
        del doc[key]
    for attr in rtype.core.attributes:
        value = doc.get(attr.name)
        if attr.required and isinstance(value, str) and not value.strip():
            raise InvalidValue(f"'{attr.name}' must not be empty")
    check_single_primary(doc, rtype)
    return doc


def validate_document(doc: dict, rtype: ResourceType) -> dict:
    """Re-validate a document after PATCH, so PATCH cannot store what POST refuses."""
    return load_resource(doc, rtype)


def check_schemas(payload: dict, rtype: ResourceType) -> None:
    """Refuse schema URNs we do not implement, instead of silently dropping data."""
    schemas = None
    for key, value in payload.items():
        if isinstance(key, str) and key.lower() == "schemas":
            schemas = value
    if schemas is None:
        return
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise InvalidSyntax("'schemas' must be an array of schema URNs")
    if len(schemas) > MAX_VALUES:
        raise InvalidValue(f"'schemas' has {len(schemas):,} values; the appliance accepts at "
                           f"most {MAX_VALUES:,}")
    known = rtype.known_urns() | {u.lower() for u in rtype.ignored_schema_urns}
    unknown = [s for s in schemas if s.lower() not in known]
    if unknown:
        supported = ", ".join([rtype.core.id, *(e.id for e in rtype.extensions)])
        raise InvalidValue(
            f"unknown schema '{shown(unknown[0], 200)}' for {rtype.name}; this appliance supports "
            f"{supported}. Remove attribute mappings that use other schemas."
        )


def check_single_primary(doc: dict, rtype: ResourceType) -> None:
    """RFC 7643 §2.4: the primary value "true" MUST appear no more than once."""
    for attr in rtype.core.attributes:
        values = doc.get(attr.name)
        if attr.multi_valued and isinstance(values, list):
            if sum(1 for v in values if isinstance(v, dict) and v.get("primary") is True) > 1:
                raise InvalidValue(f"'{attr.name}' has more than one value marked primary")


def _flatten(messages, prefix="") -> list[tuple[str, str]]:
    out = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, path))
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, (dict, list)):
                out.extend(_flatten(message, prefix))
            else:
                out.append((prefix, str(message)))
    else:
        out.append((prefix, str(messages)))
    return out


def _to_scim_error(messages, rtype: ResourceType):
    problems = _flatten(messages)
    unknown = [path for path, msg in problems if msg == UNKNOWN_FIELD]
    if unknown:
        name = unknown[0]
        known_ext = any(name.lower().startswith(e.id.lower() + ".") for e in rtype.extensions)
        if name.lower().startswith("urn:") and not known_ext:
            return InvalidValue(
                f"unknown schema or attribute '{shown(name, 200)}' for {rtype.name}; this "
                "appliance does not store custom extension attributes. Remove that attribute "
                "mapping."
            )
        return InvalidSyntax(f"unknown attribute '{shown(name, 200)}' for {rtype.name}")
    for path, msg in problems:
        if msg == "Missing data for required field.":
            return InvalidValue(f"'{shown(path, 200)}' is required for {rtype.name}")
    path, msg = problems[0]
    if path.endswith("._schema"):
        path = path[: -len("._schema")]
    if msg == "Invalid input type.":
        msg = "must be an object"
    return InvalidValue(f"'{shown(path, 200)}' {msg}")
