"""What kind of failure a refused SCIM request is, and what the administrator can do.

Failure emails group failures by kind because the remedy depends on the kind, not on
the object: one wrong attribute mapping in Entra fails every user it touches. The kind
comes from the HTTP status, the RFC 7644 §3.12 `scimType` and, where the appliance's
own `detail` wording is the only distinguishing fact, from that wording (the tests
drive real requests through the API so a reworded detail breaks them).
"""

from __future__ import annotations

from dataclasses import dataclass

TOKEN = "token"
SYNC_DISABLED = "sync_disabled"
SEAT_CAP = "seat_cap"
SERVER_FAULT = "server_fault"
DUPLICATE = "duplicate"
INVALID_VALUE = "invalid_value"
MISSING_REQUIRED = "missing_required"
UNKNOWN_MEMBER = "unknown_member"
NOT_FOUND = "not_found"
OTHER = "other"

# scimTypes whose remedy is "change the attribute mapping or expression".
_VALUE_TYPES = frozenset({"invalidValue", "invalidSyntax", "mutability", "invalidPath",
                          "noTarget"})


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    advice: str


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind(TOKEN, "Replaced Secret Token: Entra holds an old one (401)",
         "These requests carry a Secret Token this appliance issued, which stopped "
         "working when 'scim-appliance token issue' replaced it. Paste the current token "
         "into Entra: Enterprise application > Provisioning > Admin Credentials > Secret "
         "Token, then Test Connection and Save (if nobody has it, run 'scim-appliance "
         "token issue' and paste the one it prints). If the client address is not "
         "Entra's, an old token is in other hands: it no longer works, and nothing "
         "else needs doing."),
    Kind(SYNC_DISABLED, "SCIM sync is disabled on the appliance (403)",
         "The appliance refuses all provisioning while sync is off. Run 'scim-appliance "
         "sync enable' when it should accept changes again, or set Provisioning Status to "
         "Off in Entra so the job is not put into quarantine."),
    Kind(SEAT_CAP, "Seat cap reached: users refused (403)",
         "More users would be active than MAX_ACTIVE_USERS allows, so the appliance "
         "refused to create or enable these users. Either raise MAX_ACTIVE_USERS in "
         "instance/config.py and restart the appliance ('scim-appliance users list' shows "
         "the count), or narrow what Entra provisions: Enterprise application > "
         "Provisioning > Settings > Scope: 'Sync only assigned users and groups', and "
         "assign only those who need the application. Entra retries refused users on "
         "its next cycles."),
    Kind(SERVER_FAULT, "Appliance errors (5xx)",
         "Nothing to change in Entra: it retries these objects on its next cycle. Look at "
         "the appliance's stderr or journal at these times (search for the request id). "
         "503 means the database was busy or unavailable: check free disk space and that "
         "nothing else holds the database file."),
    Kind(DUPLICATE, "Duplicate userName or group displayName (409 uniqueness)",
         "Another object on the appliance already has this name (compared "
         "case-insensitively). Usually two Entra objects map to the same name: find them "
         "and make the mapping unique (Provisioning > Mappings > Provision Microsoft Entra "
         "ID Users > userName, e.g. userPrincipalName rather than mail; for groups, "
         "displayName), or take one of them out of scope. If the existing object is the "
         "same person or group, check that the mapping's matching attribute (Matching "
         "precedence) is userName or displayName, so Entra finds it instead of creating "
         "it again."),
    Kind(INVALID_VALUE, "Values the appliance refuses (400), including name rules",
         "The detail names the attribute. In Entra > Provisioning > Mappings, change the "
         "mapping for that attribute: use an expression that produces an accepted value "
         "(e.g. NormalizeDiacritics(), Replace() or Left() around the source attribute), "
         "or delete mappings the appliance does not support (custom extension "
         "attributes). Check one affected user with Provision on demand."),
    Kind(MISSING_REQUIRED, "A required attribute is missing (400)",
         "Entra sent no value for a required attribute (userName for users, displayName "
         "for groups), usually because the source attribute is empty for these objects. "
         "Fill it in Entra, or change the mapping to an expression with a fallback such "
         "as Coalesce([userPrincipalName], [mail])."),
    Kind(UNKNOWN_MEMBER, "Group members the appliance does not know (400)",
         "Entra added members that were never provisioned to the appliance, usually users "
         "outside the application's scope. Assign those users (or a group containing "
         "them) to the application in Entra > Users and groups; the next cycle provisions "
         "them and then adds them to the group."),
    Kind(NOT_FOUND, "Objects Entra expects are gone from the appliance (404)",
         "Entra refers to an id the appliance no longer has (deleted outside Entra, or the "
         "database was replaced). In Entra > Provisioning > Overview choose 'Restart "
         "provisioning' so Entra matches the objects again and re-creates missing ones."),
    Kind(OTHER, "Other refused requests",
         "See 'scim-appliance log --failures' for the status and detail of each request."),
)}

# The order kinds appear in a digest: what stops all provisioning first.
ORDER = (TOKEN, SYNC_DISABLED, SEAT_CAP, SERVER_FAULT, DUPLICATE, INVALID_VALUE, MISSING_REQUIRED,
         UNKNOWN_MEMBER, NOT_FOUND, OTHER)


def classify(status: int, scim_type: str | None, detail: str | None) -> str | None:
    """The kind of a response, or None when it is not a failure (status < 400)."""
    if status < 400:
        return None
    if status == 401:
        return TOKEN
    if status == 403:
        # The sync switch (domain/access) and the seat cap (domain/resources/seats.py,
        # whose detail starts so) are the only sources of 403s.
        if (detail or "").startswith("seat cap reached"):
            return SEAT_CAP
        return SYNC_DISABLED
    if status >= 500:
        return SERVER_FAULT
    if status == 409 or scim_type == "uniqueness":
        return DUPLICATE
    if status == 404:
        return NOT_FOUND
    if status == 400:
        text = (detail or "").lower()
        # domain/groups._resolve_members and domain/validation._to_scim_error wording.
        if "no user or group with id" in text:
            return UNKNOWN_MEMBER
        if "is required" in text:
            return MISSING_REQUIRED
        if scim_type in _VALUE_TYPES:
            return INVALID_VALUE
    return OTHER
