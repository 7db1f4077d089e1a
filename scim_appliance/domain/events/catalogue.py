"""The event types the appliance emits, and an endpoint's selection of them.

An endpoint subscribes to exact types, to a family (`user.*`) or to everything (`*`).
"""

from __future__ import annotations

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"
USER_DELETED = "user.deleted"
GROUP_CREATED = "group.created"
GROUP_UPDATED = "group.updated"
GROUP_DELETED = "group.deleted"
GROUP_MEMBERS_ADDED = "group.members_added"
GROUP_MEMBERS_REMOVED = "group.members_removed"
TOKEN_REPLACED = "appliance.token_replaced"
SYNC_SWITCHED = "appliance.sync_switched"
SILENCE = "appliance.silence"
RESUMED = "appliance.resumed"

# type -> what it means, for `webhooks add --help`, the README and `webhooks list`.
CATALOGUE = {
    USER_CREATED: "a user was created (adopting a local account is user.updated)",
    USER_UPDATED: "a user's attributes changed; data.changedAttributes names them",
    USER_DISABLED: "a user's active turned false",
    USER_ENABLED: "a user's active turned true",
    USER_DELETED: "a user was deleted (data.resource: how it last looked)",
    GROUP_CREATED: "a group was created",
    GROUP_UPDATED: "a group's attributes (not its members) changed",
    GROUP_DELETED: "a group was deleted",
    GROUP_MEMBERS_ADDED: "members were added to a group (data.members, in batches)",
    GROUP_MEMBERS_REMOVED: "members were removed from a group (data.members, in batches)",
    TOKEN_REPLACED: "a new Secret Token was issued; the previous one no longer works",
    SYNC_SWITCHED: "SCIM sync was switched on or off",
    SILENCE: "Entra has not called for SILENCE_ALERT_MINUTES",
    RESUMED: "Entra calls again after a silence",
}

# Members per group.members_added / members_removed event: a PATCH adding 10,000
# members becomes ten events a receiver can take in one request each.
MEMBER_BATCH = 1000

# Sent by `webhooks test` only: never stored, never retried.
TEST = "webhook.test"


class UnknownEventType(ValueError):
    pass


def parse_selection(values) -> list[str]:
    """Types or patterns from the CLI (each may hold several, comma-separated); ["*"]
    when none are given. Unknown types are refused: a typo would never match."""
    found: list[str] = []
    for value in values or ():
        for item in str(value).split(","):
            item = item.strip()
            if not item:
                continue
            if item != "*" and item not in CATALOGUE and not (
                    item.endswith(".*") and any(t.startswith(item[:-1]) for t in CATALOGUE)):
                raise UnknownEventType(
                    f"unknown event type {item!r}; known: {', '.join(CATALOGUE)} "
                    "(or a family such as 'user.*', or '*')")
            if item not in found:
                found.append(item)
    return found or ["*"]


def wants(selection: list[str], event_type: str) -> bool:
    """Does an endpoint with this selection receive `event_type`?"""
    for item in selection or ():
        if item == "*" or item == event_type or (
                item.endswith(".*") and event_type.startswith(item[:-1])):
            return True
    return False
