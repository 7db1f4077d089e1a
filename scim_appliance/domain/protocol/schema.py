"""SCIM schema definitions (RFC 7643 §4, §8.7) as one source of truth.

The same `Attribute` trees drive request validation, filter typing, PATCH path
resolution, attribute projection and the `/Schemas` discovery documents, so what
we advertise is exactly what we enforce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
APPLIANCE_USER = "urn:scim-appliance:schemas:extension:appliance:2.0:User"
APPLIANCE_GROUP = "urn:scim-appliance:schemas:extension:appliance:2.0:Group"
# Attribute-less marker Entra puts in group `schemas` (Microsoft's SCIM endpoint
# tutorial, group requests).
MS_GROUP_MARKER = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"

# Maxima for what a request may store (README "Limits"), in characters (code points) and
# values. Checked before any costly work (the name rules, the database), and generous for
# Entra: Microsoft Graph caps displayName at 256, userPrincipalName at 113 and
# streetAddress at 1,024 characters, and Join() mappings combine only a few of them.
SHORT_TEXT = 512  # names, identifiers, labels: the default for every string
LONG_TEXT = 2048  # postal address parts, URLs (profileUrl, photos, $ref), password
CERTIFICATE_TEXT = 16384  # x509Certificates.value: a base64 DER certificate, a few KB
MAX_VALUES = 100  # elements of a multi-valued attribute of a User (emails, roles, ...)
MAX_MEMBERS = 10_000  # group members in one request (POST, PUT, or all of one PATCH)
MAX_OPERATIONS = 200  # PATCH operations per request; each key of a path-less value counts


@dataclass(frozen=True)
class Attribute:
    """One attribute definition in RFC 7643 §7 terms."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    schema: str = ""
    # Request limits (not RFC 7643 characteristics, so not in /Schemas): the longest string
    # and, for a multi-valued attribute, the most values one request may give it.
    max_length: int = SHORT_TEXT
    max_values: int = MAX_VALUES
    # Lower-cased name -> sub-attribute, for case-insensitive look-ups (RFC 7643 §2.1).
    subs: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.subs.update({sub.name.lower(): sub for sub in self.sub_attributes})

    @property
    def is_complex(self) -> bool:
        return self.type == "complex"

    @property
    def read_only(self) -> bool:
        return self.mutability == "readOnly"

    def sub(self, name: str) -> Attribute | None:
        return self.subs.get(name.lower())

    def to_rfc(self) -> dict:
        """Render as an RFC 7643 §7 attribute definition."""
        doc = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description or self.name,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
        }
        if self.type in ("string", "reference", "binary"):
            doc["caseExact"] = self.case_exact
        if self.type != "complex":
            doc["uniqueness"] = self.uniqueness
        if self.canonical_values:
            doc["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            doc["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            doc["subAttributes"] = [sub.to_rfc() for sub in self.sub_attributes]
        return doc


def _s(name, description="", **kw) -> Attribute:
    return Attribute(name=name, description=description, **kw)


def _multi(name, description, value_type="string", types=(), extra=(), value_kw=None):
    """The common value/display/type/primary shape of RFC 7643 multi-valued attributes."""
    value_kw = value_kw or {}
    subs = [
        _s("value", f"The value of the {name} entry.", type=value_type, **value_kw),
        _s("display", "A human-readable name, primarily used for display purposes.",
           mutability="readWrite"),
        _s("type", "A label indicating the attribute's function.", canonical_values=types),
        _s("primary", "A Boolean value indicating the 'primary' or preferred attribute value.",
           type="boolean"),
        *extra,
    ]
    return _s(name, description, type="complex", multi_valued=True, sub_attributes=tuple(subs))


def _address(name, description) -> Attribute:
    """A postal address part: Entra's streetAddress alone may be 1,024 characters."""
    return _s(name, description, max_length=LONG_TEXT)


def _with_schema(attrs: tuple[Attribute, ...], urn: str) -> tuple[Attribute, ...]:
    """Stamp each attribute (recursively) with the schema URN it belongs to."""
    from dataclasses import replace

    return tuple(
        replace(a, schema=urn, subs={}, sub_attributes=_with_schema(a.sub_attributes, urn))
        for a in attrs
    )


_USER_ATTRS = (
    _s("userName", "Unique identifier for the User, typically used to sign in.",
       required=True, uniqueness="server"),
    _s("name", "The components of the user's real name.", type="complex", sub_attributes=(
        _s("formatted", "The full name, formatted for display."),
        _s("familyName", "The family name of the User."),
        _s("givenName", "The given name of the User."),
        _s("middleName", "The middle name(s) of the User."),
        _s("honorificPrefix", "The honorific prefix(es) of the User."),
        _s("honorificSuffix", "The honorific suffix(es) of the User."),
    )),
    _s("displayName", "The name of the User, suitable for display to end-users."),
    _s("nickName", "The casual way to address the user in real life."),
    _s("profileUrl", "A fully qualified URL pointing to a page representing the User's online "
       "profile.", type="reference", reference_types=("external",), max_length=LONG_TEXT),
    _s("title", "The user's title, such as \"Vice President\"."),
    _s("userType", "Used to identify the relationship between the organization and the user."),
    _s("preferredLanguage", "Indicates the User's preferred written or spoken language."),
    _s("locale", "Used to indicate the User's default location for localization."),
    _s("timezone", "The User's time zone in the 'Olson' time zone database format."),
    _s("active", "A Boolean value indicating the User's administrative status.",
       type="boolean"),
    _s("password", "The User's cleartext password; accepted on write, never returned.",
       mutability="writeOnly", returned="never", max_length=LONG_TEXT),
    _multi("emails", "Email addresses for the user.", types=("work", "home", "other")),
    _multi("phoneNumbers", "Phone numbers for the User.",
           types=("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims", "Instant messaging addresses for the User.",
           types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
    _multi("photos", "URLs of photos of the User.", value_type="reference",
           types=("photo", "thumbnail"),
           value_kw={"reference_types": ("external",), "max_length": LONG_TEXT}),
    _s("addresses", "A physical mailing address for this User.", type="complex",
       multi_valued=True, sub_attributes=(
           _address("formatted", "The full mailing address, formatted for display."),
           _address("streetAddress", "The full street address component."),
           _address("locality", "The city or locality component."),
           _address("region", "The state or region component."),
           _address("postalCode", "The zip code or postal code component."),
           _address("country", "The country name component."),
           _s("type", "A label indicating the attribute's function.",
              canonical_values=("work", "home", "other")),
           _s("primary", "A Boolean value indicating the primary address.", type="boolean"),
       )),
    _s("groups", "A list of groups to which the user belongs.", type="complex",
       multi_valued=True, mutability="readOnly", sub_attributes=(
           # References carry an `id`, which is caseExact (RFC 7643 §3.1); comparing
           # them exactly also keeps membership filters index look-ups.
           _s("value", "The identifier of the User's group.", mutability="readOnly",
              case_exact=True),
           _s("$ref", "The URI of the corresponding 'Group' resource.", type="reference",
              reference_types=("Group",), mutability="readOnly", max_length=LONG_TEXT),
           _s("display", "A human-readable name of the group.", mutability="readOnly"),
           _s("type", "How the membership was derived.", mutability="readOnly",
              canonical_values=("direct", "indirect")),
       )),
    _multi("entitlements", "A list of entitlements for the User."),
    _multi("roles", "A list of roles for the User."),
    _multi("x509Certificates", "A list of certificates issued to the User.",
           value_type="binary", value_kw={"max_length": CERTIFICATE_TEXT}),
)

_ENTERPRISE_ATTRS = (
    _s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
    _s("costCenter", "Identifies the name of a cost center."),
    _s("organization", "Identifies the name of an organization."),
    _s("division", "Identifies the name of a division."),
    _s("department", "Identifies the name of a department."),
    _s("manager", "The User's manager.", type="complex", sub_attributes=(
        _s("value", "The id of the SCIM resource representing the User's manager.",
           case_exact=True),
        _s("$ref", "The URI of the SCIM resource representing the User's manager.",
           type="reference", reference_types=("User",), max_length=LONG_TEXT),
        _s("displayName", "The displayName of the User's manager.", mutability="readOnly"),
    )),
)

_GROUP_ATTRS = (
    _s("displayName", "A human-readable name for the Group.", required=True,
       uniqueness="server"),
    _s("members", "A list of members of the Group.", type="complex", multi_valued=True,
       max_values=MAX_MEMBERS, sub_attributes=(
           _s("value", "Identifier of the member of this Group.", mutability="immutable",
              case_exact=True),
           _s("$ref", "The URI of the member resource.", type="reference",
              reference_types=("User", "Group"), mutability="immutable",
              max_length=LONG_TEXT),
           _s("display", "A human-readable name of the member.", mutability="readOnly"),
           _s("type", "The type of the member.", canonical_values=("User", "Group"),
              mutability="immutable"),
       )),
)

# Common attributes (RFC 7643 §3.1): present on every resource, in no schema's list.
COMMON_ATTRS = (
    _s("id", "Unique identifier for the resource, assigned by the service provider.",
       case_exact=True, mutability="readOnly", returned="always", uniqueness="server"),
    _s("externalId", "Identifier of the resource as defined by the provisioning client.",
       case_exact=True),
    _s("meta", "Resource metadata.", type="complex", mutability="readOnly", sub_attributes=(
        _s("resourceType", "The name of the resource type.", case_exact=True,
           mutability="readOnly"),
        _s("created", "When the resource was added.", type="dateTime", mutability="readOnly"),
        _s("lastModified", "When the resource was last updated.", type="dateTime",
           mutability="readOnly"),
        _s("location", "The URI of the resource.", type="reference", case_exact=True,
           mutability="readOnly"),
        _s("version", "The version (ETag) of the resource.", case_exact=True,
           mutability="readOnly"),
    )),
)


@dataclass(frozen=True)
class SchemaDef:
    """A schema document (RFC 7643 §7): its URN, name and attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> Attribute | None:
        lowered = name.lower()
        for attr in self.attributes:
            if attr.name.lower() == lowered:
                return attr
        return None

    def to_rfc(self, location: str) -> dict:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_rfc() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": location},
        }


USER_SCHEMA = SchemaDef(CORE_USER, "User", "User Account",
                        _with_schema(_USER_ATTRS, CORE_USER))
ENTERPRISE_SCHEMA = SchemaDef(ENTERPRISE_USER, "EnterpriseUser", "Enterprise User",
                              _with_schema(_ENTERPRISE_ATTRS, ENTERPRISE_USER))
GROUP_SCHEMA = SchemaDef(CORE_GROUP, "Group", "Group", _with_schema(_GROUP_ATTRS, CORE_GROUP))

# The appliance's own extension: read-only facts the appliance derives (issue 4: the
# names valid downstream, domain/names/rules.py) and who manages the resource (issue 6).
# Rendered from columns, never stored in `data`; validation ignores client values for
# them and PATCH refuses them (RFC 7643 §2.2 mutability).
# `scim` once Entra created or adopted it; `local` for accounts that existed before
# provisioning or that the operator imported (domain/local_accounts.py).
_SOURCE = _s("source", "Who manages the resource: 'scim' (Entra provisioning created or "
             "adopted it) or 'local' (it existed before, or the operator created it).",
             mutability="readOnly", canonical_values=("scim", "local"))
_APPLIANCE_USER_ATTRS = (
    _s("sanitizedUserName", "The userName as valid downstream under the appliance's name "
       "rules; derived once and never changed.", mutability="readOnly", uniqueness="server"),
    _s("nameAdjusted", "Whether sanitizedUserName differs from userName.", type="boolean",
       mutability="readOnly"),
    _SOURCE,
)
_APPLIANCE_GROUP_ATTRS = (
    _s("sanitizedDisplayName", "The displayName as valid downstream under the appliance's "
       "name rules; derived again when the group is renamed.", mutability="readOnly",
       uniqueness="server"),
    _s("nameAdjusted", "Whether sanitizedDisplayName differs from displayName.",
       type="boolean", mutability="readOnly"),
    _SOURCE,
)
APPLIANCE_USER_SCHEMA = SchemaDef(APPLIANCE_USER, "ApplianceUser",
                                  "What scim-appliance derives for a User",
                                  _with_schema(_APPLIANCE_USER_ATTRS, APPLIANCE_USER))
APPLIANCE_GROUP_SCHEMA = SchemaDef(APPLIANCE_GROUP, "ApplianceGroup",
                                   "What scim-appliance derives for a Group",
                                   _with_schema(_APPLIANCE_GROUP_ATTRS, APPLIANCE_GROUP))
COMMON = _with_schema(COMMON_ATTRS, "")


@dataclass(frozen=True)
class ResourceType:
    """A resource type (RFC 7643 §6): a core schema plus its extensions."""

    name: str
    endpoint: str
    description: str
    core: SchemaDef
    extensions: tuple[SchemaDef, ...] = ()
    # Schema URNs accepted in a request's `schemas` and otherwise ignored.
    ignored_schema_urns: tuple[str, ...] = ()

    def extension(self, urn: str) -> SchemaDef | None:
        lowered = urn.lower()
        for ext in self.extensions:
            if ext.id.lower() == lowered:
                return ext
        return None

    def known_urns(self) -> set[str]:
        return {self.core.id.lower(), *(e.id.lower() for e in self.extensions)}

    def top_level(self, name: str) -> Attribute | None:
        """A core or common attribute by case-insensitive name."""
        found = self.core.attribute(name)
        if found is not None:
            return found
        lowered = name.lower()
        for attr in COMMON:
            if attr.name.lower() == lowered:
                return attr
        return None

    def split_urn(self, path: str) -> tuple[SchemaDef | None, str]:
        """Split a URN-qualified attribute path (RFC 7644 §3.10) into schema and rest.

        Returns (None, path) when the path carries no URN prefix. Raises KeyError
        when it carries a URN this resource type does not know.
        """
        if not path.lower().startswith("urn:"):
            return None, path
        lowered = path.lower()
        for schema in (self.core, *self.extensions):
            prefix = schema.id.lower()
            if lowered == prefix:
                return schema, ""
            if lowered.startswith(prefix + ":"):
                return schema, path[len(prefix) + 1:]
        raise KeyError(path)

    def to_rfc(self, location: str) -> dict:
        return {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.core.id,
            "schemaExtensions": [{"schema": e.id, "required": False} for e in self.extensions],
            "meta": {"resourceType": "ResourceType", "location": location},
        }


USER_TYPE = ResourceType("User", "/Users", "User Account", USER_SCHEMA,
                         (ENTERPRISE_SCHEMA, APPLIANCE_USER_SCHEMA))
GROUP_TYPE = ResourceType("Group", "/Groups", "Group", GROUP_SCHEMA, (APPLIANCE_GROUP_SCHEMA,),
                          ignored_schema_urns=(MS_GROUP_MARKER,))
RESOURCE_TYPES = (USER_TYPE, GROUP_TYPE)
ALL_SCHEMAS = (USER_SCHEMA, ENTERPRISE_SCHEMA, APPLIANCE_USER_SCHEMA, GROUP_SCHEMA,
               APPLIANCE_GROUP_SCHEMA)
