"""Apply SCIM PATCH operations (RFC 7644 §3.5.2) to a stored resource document.

Entra ID speaks two PATCH dialects at once (Microsoft: SCIM 2.0 compliance, aadOptscim062020):
the legacy one (capitalised ops, string booleans, member removal by `path: "members"`
plus a `value` array) and the `aadOptscim062020` one (lower-case ops, `members[value eq
"…"]`, no-path ops whose `value` has dotted and URN-qualified keys). Both are accepted
here without any switch, because provision-on-demand ignores the tenant flag.

The document is a plain dict: core and common attributes at the top level, extension
attributes under their schema URN. Work happens on a deep copy, so a failing request
(any `ScimError`) leaves the caller's document untouched. Attribute *names* are
canonicalised from the schema (RFC 7643 §2.1); values are stored as sent and typed by
the caller afterwards.

Where the Entra behaviour deviates from the RFC, the function docstrings say so.

Limits (schema.py, README "Limits"): at most MAX_OPERATIONS operations, each key of a
path-less or whole-extension value counting as one; a multi-valued attribute never grows
past its `max_values` while operations are applied; at most MAX_MEMBERS member ids in all.
So the work one request can cause is bounded before the document is re-validated.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from .documents import (
    attr_key,
    container_of,
    drop_empty_extensions,
    elements_of,
    get_attr,
    is_blank,
    is_empty,
    pop_attr,
    put_attr,
    store_attr,
)
from .elements import (
    add_key,
    canon,
    check_count,
    identified_by_value,
    is_listed,
    listed_elements,
    new_element,
    remove_keys,
)
from .errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget, ScimError
from .filters import And, Compare, PatchPath, matches_element, parse_path
from .member_ops import MemberOp, is_members, member_op_for
from .schema import MAX_MEMBERS, MAX_OPERATIONS, PATCH_OP, Attribute, ResourceType
from .validation import check_schemas, json_type, shown

OPS = ("add", "replace", "remove")
# Sub-attributes that only label an element; an element left with nothing else is dropped.
_LABELS = frozenset({"type", "primary"})
_HEAD = re.compile(r"[^.\[]*")


@dataclass(frozen=True)
class _Op:
    index: int
    name: str  # lower-cased: add / replace / remove
    path: str | None
    value: Any


@dataclass
class _Context:
    rtype: ResourceType
    divert_members: bool
    pending: list[MemberOp] = field(default_factory=list)
    targets: int = 0  # attribute paths applied so far (operations and value keys)
    member_ids: int = 0

    def count_target(self) -> None:
        self.targets += 1
        if self.targets > MAX_OPERATIONS:
            raise InvalidValue(_too_many_operations("more"))

    def divert(self, member_op: MemberOp) -> None:
        self.member_ids += len(member_op.ids)
        if self.member_ids > MAX_MEMBERS:
            raise InvalidValue(f"a PATCH request may name at most {MAX_MEMBERS:,} members in "
                               "all; send larger changes in several requests")
        self.pending.append(member_op)


def _too_many_operations(count: str) -> str:
    return (f"a PATCH request may carry at most {MAX_OPERATIONS:,} operations (each key of a "
            f"value without 'path' counts as one); this one has {count}. Send the changes "
            "in several requests")


# -- public API ------------------------------------------------------------------------
def apply_patch(doc: dict, body: dict, rtype: ResourceType, *,
                member_ops: list | None = None) -> dict:
    """Validate a PatchOp message (RFC 7644 §3.5.2) and apply it; returns the new doc.

    `schemas` may be absent (lenient), but if present it must name the PatchOp URN.
    The `Operations` key is matched case-insensitively. With `member_ops` given, changes
    to the group `members` attribute are appended there as `MemberOp`s instead.
    """
    return apply_operations(doc, _operations_of(body), rtype, member_ops)


def apply_operations(doc: dict, operations: list, rtype: ResourceType,
                     member_ops: list | None = None) -> dict:
    """Apply `Operations` in order, all or nothing (RFC 7644 §3.5.2: "atomic")."""
    if not isinstance(operations, list) or not operations:
        raise InvalidSyntax("'Operations' must be a non-empty list of operations")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidValue(_too_many_operations(f"{len(operations):,}"))
    work = copy.deepcopy(doc)
    ctx = _Context(rtype, divert_members=member_ops is not None)
    for index, raw in enumerate(operations):
        op = _parse_operation(index, raw)
        try:
            _apply_operation(work, op, ctx)
        except ScimError as exc:
            raise type(exc)(f"{_describe(op)}: {exc.detail}", status=exc.status) from None
    if member_ops is not None:
        member_ops.extend(ctx.pending)
    return work


# -- message parsing -------------------------------------------------------------------
def _operations_of(body) -> list:
    if not isinstance(body, dict):
        raise InvalidSyntax("the PATCH body must be a JSON object (a PatchOp message)")
    schemas = get_attr(body, "schemas")
    if schemas is not None:
        listed = schemas if isinstance(schemas, list) else [schemas]
        if not any(isinstance(s, str) and s.lower() == PATCH_OP.lower() for s in listed):
            raise InvalidSyntax(f"'schemas' must contain '{PATCH_OP}' for a PATCH request")
    if attr_key(body, "Operations") is None:
        raise InvalidSyntax("the PATCH body has no 'Operations' list")
    return get_attr(body, "Operations")


def _parse_operation(index: int, raw) -> _Op:
    where = f"Operations[{index}]"
    if not isinstance(raw, dict):
        raise InvalidSyntax(f"{where} must be an object with 'op', 'path' and 'value'")
    name = get_attr(raw, "op")
    if name is None:
        # RFC 7644 §3.5.2: "Each PATCH operation object MUST have exactly one "op" member".
        raise InvalidSyntax(f"{where} has no 'op'; give 'add', 'replace' or 'remove'")
    if not isinstance(name, str):
        raise InvalidSyntax(f"{where}: 'op' must be the string 'add', 'replace' or 'remove', "
                            f"not {json_type(name)}")
    if name.lower() not in OPS:
        raise InvalidSyntax(f"{where} has unsupported op '{shown(name)}'; "
                            "use 'add', 'replace' or 'remove'")
    name = name.lower()
    path = get_attr(raw, "path")
    if path is not None and not isinstance(path, str):
        raise InvalidSyntax(f"{where} ({name}): 'path' must be a string")
    if isinstance(path, str) and not path.strip():
        path = None
    if name != "remove" and attr_key(raw, "value") is None:
        raise InvalidSyntax(f"{where} ({name}{_path_note(path)}) has no 'value' "
                            "(RFC 7644 §3.5.2.1/§3.5.2.3 require one)")
    return _Op(index, name, path, get_attr(raw, "value"))


def _path_note(path: str | None) -> str:
    return f" path '{shown(path, 200)}'" if path is not None else " without path"


def _describe(op: _Op) -> str:
    return f"Operations[{op.index}] ({op.name}{_path_note(op.path)})"


# -- dispatch --------------------------------------------------------------------------
def _apply_operation(doc: dict, op: _Op, ctx: _Context) -> None:
    if op.path is None:
        if op.name == "remove":
            raise NoTarget("remove needs a 'path' naming what to remove (RFC 7644 §3.5.2.2)")
        _apply_no_path(doc, op.name, op.value, ctx)
    else:
        _apply_path(doc, op.name, _resolve_path(op.path, ctx.rtype), op.value, ctx)
    drop_empty_extensions(doc, ctx.rtype)


def _apply_no_path(doc: dict, op: str, value, ctx: _Context) -> None:
    """No-path add/replace (RFC 7644 §3.5.2.1, §3.5.2.3): each key is applied as a path.

    Entra's aadOptscim062020 dialect puts dotted keys (`"name.givenName"`) and URN-qualified
    keys (`"urn:…:enterprise:2.0:User:employeeNumber"`) here (Entra's default dialect);
    treating them as paths keeps them out of the document as literal keys.
    """
    if not isinstance(value, dict):
        raise InvalidValue(f"{op} without 'path' needs an object value mapping attribute "
                           "names to values (RFC 7644 §3.5.2.1)")
    for key, item in _attribute_items(value, ctx.rtype):
        _apply_key(doc, op, key, item, ctx)


def _attribute_items(value: dict, rtype: ResourceType) -> list[tuple[str, Any]]:
    """The keys of a value object that name attributes.

    A value that stands for the resource (no path) or for an extension (its URN as path)
    may carry `schemas`, as the resource itself does (RFC 7643 §3). That key says which
    schemas the object follows; it is not an attribute to patch (the server keeps the
    resource's `schemas` from the attributes present), but it must name schemas of this
    resource type, as in a POST.
    """
    items = []
    for key, item in value.items():
        if isinstance(key, str) and key.lower() == "schemas":
            try:
                check_schemas({"schemas": item}, rtype)
            except ScimError as exc:
                raise type(exc)(f"'schemas' in the value: {exc.detail}") from None
            continue
        items.append((key, item))
    return items


def _apply_key(doc: dict, op: str, key: str, value, ctx: _Context, prefix: str = "") -> None:
    """Apply one key of a no-path (or whole-extension) value object as if it were a path."""
    if not prefix and key.lower() == ctx.rtype.core.id.lower() and isinstance(value, dict):
        for sub_key, item in _attribute_items(value, ctx.rtype):
            _apply_key(doc, op, sub_key, item, ctx)
        return
    try:
        path = _resolve_path(f"{prefix}:{key}" if prefix else key, ctx.rtype)
    except InvalidPath as exc:
        raise InvalidPath(f"value key '{shown(key, 200)}': {exc.detail}") from None
    _apply_path(doc, op, path, value, ctx)


def _resolve_path(text: str, rtype: ResourceType) -> PatchPath:
    """Parse a path, with two accommodations before `filters.parse_path`.

    * A core-URN prefix is stripped, so `urn:…:core:2.0:User:externalId` reaches the
      common attributes (RFC 7643 §3.1) that the core schema itself does not list.
    * An unqualified `manager` names the enterprise extension's attribute: Entra's
      legacy Example 5 sends `path: "manager"`, although
      RFC 7644 §3.10 says unqualified names belong to the core schema.
    """
    text = text.strip()
    core_prefix = rtype.core.id.lower() + ":"
    if text.lower().startswith(core_prefix):
        text = text[len(core_prefix):]
    head = _HEAD.match(text).group()
    if head.lower() == "schemas":
        raise Mutability("'schemas' is maintained by the server and cannot be patched")
    if not head.lower().startswith("urn:") and rtype.top_level(head) is None:
        owner = _extension_defining(rtype, head) if head.lower() == "manager" else None
        if owner is not None:
            text = f"{owner}:{text}"
    return parse_path(text, rtype)


def _extension_defining(rtype: ResourceType, name: str) -> str | None:
    for ext in rtype.extensions:
        if ext.attribute(name) is not None:
            return ext.id
    return None


def _apply_path(doc: dict, op: str, path: PatchPath, value, ctx: _Context) -> None:
    if path.attr is None:
        _apply_extension(doc, op, path.schema_urn, value, ctx)
        return
    ctx.count_target()
    _check_writable(path)
    if ctx.divert_members and is_members(path.attr, ctx.rtype):
        member_op = member_op_for(op, path, value, ctx.rtype)
        if member_op is not None:
            ctx.divert(member_op)
        return
    value = _coerce_reference(path, op, value)
    if path.attr.required and path.sub is None and path.filter is None \
            and (op == "remove" or is_blank(value)):
        # RFC 7644 §3.5.2.2: making a required attribute unassigned is a mutability fault.
        raise Mutability(f"'{path.attr.name}' is required and cannot be removed")
    if path.filter is not None and not path.attr.multi_valued:
        raise InvalidPath(f"'{path.attr.name}' is single-valued, so it cannot take a "
                          "'[...]' filter")
    if path.filter is not None or (path.sub is not None and path.attr.multi_valued):
        _apply_elements(doc, op, path, value, ctx.rtype)
    elif path.sub is not None:
        _apply_sub(doc, op, path.attr, path.sub, value, ctx.rtype)
    elif op == "remove":
        _remove_attr(doc, path.attr, value, ctx.rtype)
    else:
        _set_attr(doc, op, path.attr, value, ctx.rtype)


def _apply_extension(doc: dict, op: str, urn: str, value, ctx: _Context) -> None:
    """A bare extension URN path: its value is an object of that extension's attributes.

    An extension whose attributes are all readOnly (the appliance's own) is read-only as a
    whole: RFC 7644 §3.5.2 wants every operation compatible with the attribute's
    mutability, and §3.5.2.2 a "mutability" error for removing a read-only attribute, so
    adding, replacing or removing it fails instead of answering success for nothing.
    """
    ext = ctx.rtype.extension(urn)
    if ext is not None and all(a.read_only for a in ext.attributes):
        raise Mutability(f"'{urn}' is read-only: the appliance derives its attributes "
                         f"({', '.join(a.name for a in ext.attributes)}), so it cannot be "
                         "added, replaced or removed")
    if op == "remove" or is_blank(value):
        ctx.count_target()
        pop_attr(doc, urn)
        return
    if not isinstance(value, dict):
        raise InvalidValue(f"the value for '{urn}' must be an object of its attributes")
    for key, item in _attribute_items(value, ctx.rtype):
        _apply_key(doc, op, key, item, ctx, prefix=urn)


def _check_writable(path: PatchPath) -> None:
    """readOnly attributes (id, meta, groups, manager.displayName) cannot be targeted.

    RFC 7643 §2.2 / RFC 7644 §3.5.2: an operation incompatible with mutability fails
    with scimType "mutability".
    """
    if path.attr.read_only:
        raise Mutability(f"'{path.attr.name}' is read-only and cannot be changed")
    if path.sub is not None and path.sub.read_only:
        raise Mutability(f"'{path.attr.name}.{path.sub.name}' is read-only and cannot be "
                         "changed")


def _coerce_reference(path: PatchPath, op: str, value):
    """Accept Entra's shapes for a single-valued reference such as `manager`.

    Entra sends the manager as a bare id string, and the legacy Example 5 as an array of
    `{"$ref", "value"}` (Entra's legacy dialect); RFC 7643 §4.3 wants an object.
    """
    attr = path.attr
    if op == "remove" or path.sub is not None or attr.multi_valued or not attr.is_complex:
        return value
    if attr.sub("value") is None:
        return value
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str) and value != "":
        return {"value": value}
    return value


# -- whole attributes ------------------------------------------------------------------
def _set_attr(doc: dict, op: str, attr: Attribute, value, rtype: ResourceType) -> None:
    """add/replace of `attr`; null or "" clears it (RFC 7643 §2.5 "unassigned").

    Clearing on null/"" is what Microsoft's SCIM_Null_Update_Test expects
    (Entra's provisioning logs show such updates).
    """
    container = container_of(doc, attr, rtype, create=True)
    if is_blank(value):
        pop_attr(container, attr.name)
    elif attr.multi_valued:
        _set_multi(container, op, attr, value)
    elif attr.is_complex:
        _set_complex(container, attr, value)
    else:
        put_attr(container, attr.name, value)


def _set_complex(container: dict, attr: Attribute, value) -> None:
    """Merge sub-attributes into a single-valued complex attribute.

    RFC 7644 §3.5.2.1 (add) and §3.5.2.3 (replace) both leave unmentioned sub-attributes
    alone. A reference (an attribute with a `value` sub-attribute, i.e. `manager`) whose
    `value` changes starts afresh, so a stale `$ref` or `displayName` is not kept.
    """
    if not isinstance(value, dict):
        raise InvalidValue(f"'{attr.name}' is complex; give an object of its sub-attributes")
    incoming = canon(attr, value)
    current = get_attr(container, attr.name)
    merged = dict(current) if isinstance(current, dict) else {}
    if "value" in incoming and attr.sub("value") and get_attr(merged, "value") != incoming["value"]:
        merged = {}
    _merge_into(attr, merged, incoming)
    store_attr(container, attr.name, merged)


def _set_multi(container: dict, op: str, attr: Attribute, value) -> None:
    """add appends new elements (no duplicates); replace swaps the whole list.

    RFC 7644 §3.5.2.1: values already present are not added again; §3.5.2.3: replace
    without filter replaces all values. RFC 7643 §2.4: at most one `primary`.
    """
    items = value if isinstance(value, list) else [value]
    check_count(attr, len(items))
    incoming = [new_element(attr, item) for item in items]
    result = [] if op == "replace" else elements_of(container, attr)
    by_value = identified_by_value(attr)
    seen = {add_key(by_value, element) for element in result}
    added = []
    for element in incoming:
        key = add_key(by_value, element)
        if key not in seen:
            seen.add(key)
            result.append(element)
            added.append(element)
            check_count(attr, len(result))
    _single_primary(result, added)
    store_attr(container, attr.name, result)


def _remove_attr(doc: dict, attr: Attribute, value, rtype: ResourceType) -> None:
    """remove `attr`; on a multi-valued attribute a `value` limits it to those elements.

    RFC 7644 §3.5.2.2 ignores `value` and would remove everything, but Entra's legacy
    dialect sends `{"op":"Remove","path":"members","value":[{"value":"id"}]}` meaning
    "remove only these" (Microsoft: SCIM 2.0 compliance, group member removal).
    """
    if attr.multi_valued and not is_empty(value):
        listed = listed_elements(attr, value)
    container = container_of(doc, attr, rtype, create=False)
    if container is None:
        return
    if attr.multi_valued and not is_empty(value):
        keys = remove_keys(attr, listed)
        kept = [e for e in elements_of(container, attr) if not is_listed(attr, e, keys)]
        store_attr(container, attr.name, kept)
    else:
        pop_attr(container, attr.name)


# -- sub-attributes of single-valued complex attributes ------------------------------
def _apply_sub(doc: dict, op: str, attr: Attribute, sub: Attribute, value,
               rtype: ResourceType) -> None:
    """`name.givenName`, `manager.value`: set or clear one sub-attribute.

    The complex attribute is dropped once it has no sub-attributes left.
    """
    container = container_of(doc, attr, rtype, create=op != "remove")
    if container is None:
        return
    current = get_attr(container, attr.name)
    if op == "remove" and not isinstance(current, dict):
        return
    obj = dict(current) if isinstance(current, dict) else {}
    if op != "remove" and sub.name == "value" and not is_blank(value) \
            and get_attr(obj, "value") != value:
        obj = {}  # a reference pointing elsewhere: see _set_complex
    update = {sub.name: None if op == "remove" else value}
    _merge_into(attr, obj, update)
    store_attr(container, attr.name, obj)


# -- elements of multi-valued attributes -----------------------------------------------
def _apply_elements(doc: dict, op: str, path: PatchPath, value, rtype: ResourceType) -> None:
    """`attr[filter]`, `attr[filter].sub` and `attr.sub` on a multi-valued attribute.

    Filters are evaluated with the schema's case rules (`matches_element`). A remove or
    a null/"" value that matches nothing is a no-op.
    """
    attr = path.attr
    container = container_of(doc, attr, rtype, create=True)
    elements = elements_of(container, attr)
    hits = [e for e in elements if isinstance(e, dict)
            and (path.filter is None or matches_element(path.filter, e))]
    if op == "remove" or is_blank(value):
        elements = _clear_in(attr, elements, hits, path.sub)
    else:
        if path.sub is not None:
            update = {path.sub.name: value}
        elif isinstance(value, dict):
            update = canon(attr, value)
        else:
            raise InvalidValue(f"'{attr.name}[...]' needs an object of sub-attributes")
        if hits:
            for element in hits:
                _merge_into(attr, element, update)
        else:
            hits = [_create_element(path, update)]
            elements.append(hits[0])
            check_count(attr, len(elements))
        _single_primary(elements, hits)
        elements = _drop_bare(elements, hits)
    store_attr(container, attr.name, elements)


def _clear_in(attr: Attribute, elements: list, hits: list, sub: Attribute | None) -> list:
    """Remove matching elements, or one sub-attribute of them (RFC 7644 §3.5.2.2)."""
    if sub is None:
        hit_ids = {id(e) for e in hits}
        return [e for e in elements if id(e) not in hit_ids]
    for element in hits:
        _merge_into(attr, element, {sub.name: None})
    return _drop_bare(elements, hits)


def _drop_bare(elements: list, touched: list) -> list:
    """Drop the touched elements left with only `type`/`primary`: they hold no data any
    more (e.g. after clearing `emails[type eq "work"].value`). Others are left alone."""
    bare = {id(e) for e in touched if _label_only(e)}
    return [e for e in elements if id(e) not in bare]


def _create_element(path: PatchPath, update: dict) -> dict:
    """Create the element a filtered add/replace targets when none matches.

    RFC 7644 §3.5.2.3 says noTarget for replace and is silent for add, but Entra sends
    `Add emails[type eq "work"].value` for users without a work email and expects the
    entry to be created (Microsoft's SCIM validator, "Patch User - Add Attributes"). The
    new element is built from the filter's `eq` comparisons plus the value; other
    filters cannot describe one.
    """
    seed = _eq_fields(path.filter) if path.filter is not None else {}
    if seed is None:
        raise NoTarget(f"no '{path.attr.name}' element matches the filter, and the filter "
                       "is not a plain 'eq' (or 'and' of 'eq') that could describe a new one")
    element = dict(seed)
    _merge_into(path.attr, element, update)
    return element


def _eq_fields(expr) -> dict | None:
    """`type eq "work" and primary eq true` -> {"type": "work", "primary": True}."""
    if isinstance(expr, Compare):
        if expr.op == "eq" and expr.ref.sub is not None and expr.value is not None:
            return {expr.ref.sub.name: expr.value}
        return None
    if isinstance(expr, And):
        left, right = _eq_fields(expr.left), _eq_fields(expr.right)
        if left is None or right is None:
            return None
        if any(k in left and left[k] != v for k, v in right.items()):
            return None
        return {**left, **right}
    return None


def _single_primary(elements: list, preferred: list) -> None:
    """RFC 7643 §2.4: at most one `primary`; the element just written wins."""
    winner = next((e for e in preferred if isinstance(e, dict)
                   and _truthy(get_attr(e, "primary"))), None)
    if winner is None:
        return
    for element in elements:
        if element is not winner and isinstance(element, dict) \
                and _truthy(get_attr(element, "primary")):
            put_attr(element, "primary", False)


# -- merging and normalisation helpers ------------------------------------------------
def _merge_into(attr: Attribute, target: dict, update: dict) -> None:
    """Set (or, for null/"", clear) sub-attributes, refusing in-place immutable changes.

    RFC 7643 §2.2: an immutable value may be set once, never changed afterwards.
    """
    for key, item in update.items():
        sub = attr.sub(key)
        name = sub.name if sub is not None else key
        old = get_attr(target, name)
        if sub is not None and sub.mutability == "immutable" and old is not None \
                and old != item:
            raise Mutability(f"'{attr.name}.{name}' is immutable: it is {old!r} and cannot "
                             "be changed")
        if is_blank(item):
            pop_attr(target, name)
        else:
            put_attr(target, name, item)


def _label_only(element) -> bool:
    return isinstance(element, dict) and all(k.lower() in _LABELS for k in element)


def _truthy(flag) -> bool:
    """`primary` may arrive as the string "True" (Entra legacy dialect)."""
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


