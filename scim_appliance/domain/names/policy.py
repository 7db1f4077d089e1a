"""The name-rules settings a write needs, read from the configuration (no Flask).

`NAME_RULES_PRESET` picks a preset (names.PRESETS), `NAME_RULES_MODE` says whether a
name that breaks it is sanitised (default) or refused, `NAME_RULES_OVERRIDES` adjusts
one field (`userName` or `group`), and `REQUIRED_USER_ATTRIBUTES` lists attributes a
user must carry. The domain functions take the result as `rules=`; routes build it
with `rules_from_config(current_app.config)`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..protocol.errors import InvalidValue
from ..protocol.filters import AttrRef, resolve_attr_path
from ..protocol.schema import ENTERPRISE_USER, USER_TYPE
from .rules import FIELDS, GROUP_NAME, MODES, USER_NAME, FieldRule, preset_rule

DEFAULT_PRESET = "cloudsso"
DEFAULT_MODE = "sanitize"
# Keys a per-field override may set, and the FieldRule attribute each one sets.
OVERRIDE_KEYS = {"preset": None, "mode": None, "charset": "charset",
                 "max_length": "max_length", "case": "case", "unique": "unique"}


@dataclass(frozen=True)
class FieldPolicy:
    """A rule and what to do with a name that breaks it: sanitize or reject."""

    rule: FieldRule
    mode: str = DEFAULT_MODE

    @property
    def rejects(self) -> bool:
        return self.mode == "reject"


@dataclass(frozen=True)
class NameRules:
    """Everything the users/groups services need from the configuration."""

    user: FieldPolicy
    group: FieldPolicy
    required_user_attributes: tuple[AttrRef, ...] = ()

    def policy(self, field: str) -> FieldPolicy:
        return self.user if field == USER_NAME else self.group


def _policy(field: str, preset: str, mode: str, override: Mapping | None) -> FieldPolicy:
    override = dict(override or {})
    unknown = sorted(set(override) - set(OVERRIDE_KEYS))
    if unknown:
        raise ValueError(f"NAME_RULES_OVERRIDES[{field!r}]: unknown keys {unknown}; "
                         f"allowed: {', '.join(OVERRIDE_KEYS)}")
    mode = override.pop("mode", mode)
    if mode not in MODES:
        raise ValueError(f"name-rules mode must be one of {', '.join(MODES)}, not {mode!r}")
    rule = preset_rule(override.pop("preset", preset), field)
    changes = {OVERRIDE_KEYS[k]: v for k, v in override.items()}
    if changes:
        rule = dataclasses.replace(rule, **changes)
    return FieldPolicy(rule, mode)


def build_rules(preset: str = DEFAULT_PRESET, mode: str = DEFAULT_MODE,
                overrides: Mapping | None = None, required=()) -> NameRules:
    """NameRules from plain values; raises ValueError naming the bad setting."""
    overrides = overrides or {}
    if not isinstance(overrides, Mapping):
        raise ValueError("NAME_RULES_OVERRIDES must be an object keyed by 'userName'/'group'")
    unknown = sorted(set(overrides) - set(FIELDS))
    if unknown:
        raise ValueError(f"NAME_RULES_OVERRIDES: unknown fields {unknown}; use "
                         f"{' or '.join(FIELDS)}")
    if isinstance(required, str) or not all(isinstance(r, str) for r in required):
        raise ValueError("REQUIRED_USER_ATTRIBUTES must be a list of attribute names")
    refs = []
    for path in required:
        try:
            refs.append(resolve_attr_path(USER_TYPE, path, ValueError))
        except ValueError as exc:
            raise ValueError(f"REQUIRED_USER_ATTRIBUTES: {exc}") from None
    return NameRules(
        user=_policy(USER_NAME, preset, mode, overrides.get(USER_NAME)),
        group=_policy(GROUP_NAME, preset, mode, overrides.get(GROUP_NAME)),
        required_user_attributes=tuple(refs),
    )


@lru_cache(maxsize=16)
def _cached(settings: str) -> NameRules:
    preset, mode, overrides, required = json.loads(settings)
    return build_rules(preset, mode, overrides, tuple(required))


def rules_from_config(config: Mapping) -> NameRules:
    """NameRules for an app's configuration (cached: it is read on every write)."""
    settings = [config.get("NAME_RULES_PRESET") or DEFAULT_PRESET,
                config.get("NAME_RULES_MODE") or DEFAULT_MODE,
                config.get("NAME_RULES_OVERRIDES") or {},
                list(config.get("REQUIRED_USER_ATTRIBUTES") or [])]
    return _cached(json.dumps(settings, sort_keys=True))


DEFAULT_RULES = build_rules()


# -- required attributes ---------------------------------------------------------------
# Where Entra's default customappsso mapping gets each attribute (Microsoft's
# "use SCIM to provision users and groups", user attribute table).
ENTRA_SOURCES = {
    "emails": ("mail", 'emails[type eq "work"].value'),
    "displayName": ("displayName", "displayName"),
    "name": ("givenName", "name.givenName"),
    "name.givenName": ("givenName", "name.givenName"),
    "name.familyName": ("surname", "name.familyName"),
    "externalId": ("objectId", "externalId"),
    "title": ("jobTitle", "title"),
    "preferredLanguage": ("preferredLanguage", "preferredLanguage"),
    "phoneNumbers": ("telephoneNumber", 'phoneNumbers[type eq "work"].value'),
    "addresses": ("streetAddress", 'addresses[type eq "work"].streetAddress'),
    "active": ('Switch([IsSoftDeleted], , "False", "True", "True", "False")', "active"),
    f"{ENTERPRISE_USER}:employeeNumber": ("employeeId", f"{ENTERPRISE_USER}:employeeNumber"),
    f"{ENTERPRISE_USER}:department": ("department", f"{ENTERPRISE_USER}:department"),
    f"{ENTERPRISE_USER}:manager": ("manager", f"{ENTERPRISE_USER}:manager"),
}


def _path_of(ref: AttrRef) -> str:
    prefix = f"{ref.attr.schema}:" if ref.attr.schema == ENTERPRISE_USER else ""
    return prefix + (f"{ref.attr.name}.{ref.sub.name}" if ref.sub else ref.attr.name)


def _filled(value) -> bool:
    if isinstance(value, str):
        return value.strip() != ""
    if isinstance(value, (list, dict)):
        return bool(value)
    return value is not None


def has_attribute(doc: dict, ref: AttrRef) -> bool:
    """Whether a stored user document carries a non-empty value at `ref`."""
    container = doc
    if ref.attr.schema not in ("", USER_TYPE.core.id):
        container = doc.get(ref.attr.schema) or {}
    value = container.get(ref.attr.name) if isinstance(container, dict) else None
    if ref.sub is None:
        if ref.attr.multi_valued and isinstance(value, list):
            return any(_filled(v.get("value") if isinstance(v, dict) else v) for v in value)
        return _filled(value)
    items = value if isinstance(value, list) else [value]
    return any(isinstance(v, dict) and _filled(v.get(ref.sub.name)) for v in items)


def missing_detail(ref: AttrRef) -> str:
    """A 400 detail that says which Entra attribute mapping to add."""
    path = _path_of(ref)
    source, target = ENTRA_SOURCES.get(path, ENTRA_SOURCES.get(ref.attr.name,
                                                               (None, path)))
    hint = (f"In Entra's attribute mappings, map the source attribute '{source}' to "
            f"'{target}'" if source else f"In Entra's attribute mappings, add a mapping "
            f"to '{target}'")
    return (f"'{path}' is required by this appliance (REQUIRED_USER_ATTRIBUTES) and the "
            f"user has none. {hint}, and make sure the source attribute is filled in for "
            "this user.")


def check_required(doc: dict, rules: NameRules, before: dict | None = None) -> None:
    """Refuse a user without a required attribute (400 invalidValue).

    On PATCH (`before` given) only a change that loses the attribute is refused: a
    user stored before the setting was made stays reachable, so that Entra can still
    disable it.
    """
    for ref in rules.required_user_attributes:
        if has_attribute(doc, ref):
            continue
        if before is not None and not has_attribute(before, ref):
            continue
        raise InvalidValue(missing_detail(ref))
