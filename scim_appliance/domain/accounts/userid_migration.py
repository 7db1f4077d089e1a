"""The userid migration plan (issue 6): legacy AD usernames -> email-based user IDs.

Entra ID matches users on userName = the UPN (`jdoe@contoso.com`); accounts that
existed before provisioning are named after the mailbox (`jdoe`, `CONTOSO\\jdoe`), so
Entra would match nothing and create duplicates. The plan says, for every user, what
its userName becomes and why, or why it stays:

1. a `DOMAIN\\` prefix is stripped;
2. an ID that is already an email address is left alone (unless `include_emails`),
   apart from `rename_domains`;
3. otherwise the user's primary email, else its work email, else
   `<local part>@<domain>` when a domain is given;
4. `rename_domains` rewrites the domain of the result (`contoso.local=contoso.com`).

A change is refused (status `conflict`, the user is left alone) when two users would
get the same new userName, when another user already has it, or when it breaks the
active name rules judged as in reject mode (domain/names/rules.py). The plan is computed
from the database as it is, so a run after an interrupted one finds the users already
converted (`done`) and plans only the rest: the migration is resumable and
idempotent. Pure functions plus one read; applying is userid_apply.py.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...storage.models import User
from ..display import csv_cell, safe_json, safe_text
from ..names.policy import NameRules
from ..names.rules import violation

CONVERT = "convert"  # will be renamed (or was, in an apply report: see userid_apply)
DONE = "done"  # already email-based, or converted by an earlier run
UNRESOLVED = "unresolved"  # no email and no --domain: nothing to map it to
CONFLICT = "conflict"  # duplicate target, target taken, or breaks the name rules
EXCLUDED = "excluded"  # its source was not selected (--source)
PROBLEMS = (UNRESOLVED, CONFLICT)

_EMAIL = re.compile(r"^[^@\s\\]+@[^@\s\\]+\.[^@\s\\.]+$")
_DOMAIN = re.compile(r"^[^@\s\\]+\.[^@\s\\.]+$")


def is_email(value: str) -> bool:
    """`local@domain.tld`: what Entra's UPN-based userName looks like."""
    return bool(_EMAIL.match(value))


@dataclass(frozen=True)
class MigrationOptions:
    domain: str | None = None
    # (old, new) pairs, compared case-insensitively
    rename_domains: tuple[tuple[str, str], ...] = ()
    include_emails: bool = False
    # Convert names that break the rules when the mode is sanitize: the user keeps its
    # derived name downstream either way (names/derived.py), and Entra would send the
    # same name. Off by default: the issue asks for such names to be refused.
    allow_sanitized: bool = False
    sources: tuple[str, ...] = ("scim", "local")

    def __post_init__(self):
        if self.domain is not None and not _DOMAIN.match(self.domain):
            raise ValueError(f"--domain {self.domain!r} is not a domain name "
                             "(e.g. contoso.com)")
        olds = {old.lower() for old, _ in self.rename_domains}
        for old, new in self.rename_domains:
            if not _DOMAIN.match(old) or not _DOMAIN.match(new):
                raise ValueError(f"--rename-domain {old}={new}: both sides must be "
                                 "domain names")
            if new.lower() in olds:
                # a=b b=c would rename b again on the next run: not idempotent
                raise ValueError(f"--rename-domain: {new!r} is both a new and an old "
                                 "domain; give the final domain directly")


def parse_rename(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`old=new` strings as pairs; raises ValueError for anything else."""
    pairs = []
    for value in values:
        old, sep, new = value.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ValueError(f"--rename-domain {value!r}: use old=new, e.g. "
                             "contoso.local=contoso.com")
        pairs.append((old.strip().lstrip("@"), new.strip().lstrip("@")))
    return tuple(pairs)


@dataclass
class PlanItem:
    """One user: its id, current and proposed userName, status, why, what is wrong."""

    id: str
    old: str
    new: str | None
    status: str
    reason: str
    problem: str = ""
    source: str = "scim"


@dataclass
class Plan:
    items: list[PlanItem]
    options: MigrationOptions = field(default_factory=MigrationOptions)

    def with_status(self, *statuses: str) -> list[PlanItem]:
        return [i for i in self.items if i.status in statuses]

    @property
    def changes(self) -> list[PlanItem]:
        return self.with_status(CONVERT)

    @property
    def problems(self) -> list[PlanItem]:
        return self.with_status(*PROBLEMS)

    def counts(self) -> dict[str, int]:
        out = {CONVERT: 0, DONE: 0, UNRESOLVED: 0, CONFLICT: 0, EXCLUDED: 0}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return out


def preferred_email(emails) -> tuple[str | None, str]:
    """The primary email, else the work one, with a word on which; (None, why) if none."""
    entries = [e for e in emails or [] if isinstance(e, dict)
               and isinstance(e.get("value"), str) and e["value"].strip()]
    primary = [e for e in entries if e.get("primary") is True]
    work = [e for e in entries if str(e.get("type", "")).lower() == "work"]
    for kind, found in (("primary email", primary), ("work email", work)):
        if found:
            value = found[0]["value"].strip()
            if is_email(value):
                return value, kind
            return None, f"its {kind} {value!r} is not an email address"
    return None, "no primary or work email"


def _rename_domain(address: str, options: MigrationOptions) -> tuple[str, str | None]:
    local, _, domain = address.rpartition("@")
    for old, new in options.rename_domains:
        if domain.lower() == old.lower():
            return f"{local}@{new}", f"domain {domain} renamed to {new}"
    return address, None


def propose(user_name: str, emails, options: MigrationOptions) -> tuple[str | None, str]:
    """(new userName or None, reason) for one user; pure, the heart of the plan."""
    name = user_name.strip()
    notes = []
    if "\\" in name:
        prefix, _, name = name.rpartition("\\")
        notes.append(f"{prefix}\\ prefix stripped")
    if is_email(name) and not options.include_emails:
        new = name
        notes.insert(0, "already an email address")
    else:
        email, why = preferred_email(emails)
        if email is not None:
            new = email
            notes.insert(0, why)
        elif options.domain:
            local = name.rpartition("@")[0] if "@" in name else name
            if not local:
                return None, f"{why}, and no local part in {user_name!r}"
            new = f"{local}@{options.domain}"
            notes.insert(0, f"{why}: local part + --domain")
        else:
            return None, f"{why}, and no --domain given"
    new, renamed = _rename_domain(new, options)
    if renamed:
        notes.append(renamed)
    return new, "; ".join(notes)


def _item(user_id: str, user_name: str, emails, source: str, options: MigrationOptions,
          rules: NameRules) -> PlanItem:
    new, reason = propose(user_name, emails, options)
    if new is None:
        return PlanItem(user_id, user_name, None, UNRESOLVED, reason, reason, source)
    if new.lower() == user_name.lower():
        # userName compares case-insensitively: Entra's filter already matches it.
        return PlanItem(user_id, user_name, new, DONE, reason, "", source)
    item = PlanItem(user_id, user_name, new, CONVERT, reason, "", source)
    problem = violation(new, rules.user.rule)
    if problem and not (options.allow_sanitized and not rules.user.rejects):
        item.status = CONFLICT
        item.problem = (f"{new!r} breaks the '{rules.user.rule.preset}' name rule for "
                        f"user names: {problem}")
    return item


def build_plan(accounts: Iterable[tuple[str, str, object, str]], options: MigrationOptions,
               rules: NameRules) -> Plan:
    """The plan for (id, userName, emails, source) tuples: all users, not only those
    converted, because any of them may already hold a new userName."""
    items: list[PlanItem] = []
    holders: dict[str, str] = {}  # lower userName -> id, over every user
    for user_id, user_name, emails, source in accounts:
        holders[user_name.lower()] = user_id
        if (source or "scim") not in options.sources:
            items.append(PlanItem(user_id, user_name, None, EXCLUDED,
                                  f"source {source or 'scim'} not selected", "",
                                  source or "scim"))
            continue
        items.append(_item(user_id, user_name, emails, source or "scim", options, rules))
    moving = {i.id for i in items if i.status in (CONVERT, CONFLICT)}
    targets: dict[str, list[PlanItem]] = defaultdict(list)
    for item in items:
        if item.status in (CONVERT, CONFLICT):
            targets[item.new.lower()].append(item)
    for key, group in targets.items():
        if len(group) > 1:
            for item in group:
                others = ", ".join(repr(o.old) for o in group if o is not item)
                _conflict(item, f"{len(group)} users would become {item.new!r} (also "
                                f"{others}); give them distinct emails")
        holder = holders.get(key)
        if holder is not None:
            for item in group:
                if holder == item.id:
                    continue
                later = " (that user is converted in this run: run again afterwards)" \
                    if holder in moving else ""
                _conflict(item, f"{item.new!r} is already the userName of user "
                                f"{holder}{later}")
    return Plan(items, options)


def _conflict(item: PlanItem, problem: str) -> None:
    item.status = CONFLICT
    item.problem = f"{item.problem}; {problem}" if item.problem else problem


def load_accounts(session: Session) -> list[tuple[str, str, object, str]]:
    """(id, userName, emails, source) of every user, in one read (only the emails out
    of each document, so a large directory stays cheap to plan)."""
    rows = session.execute(select(User.id, User.user_name, User.data["emails"], User.source)
                           .order_by(User.id))
    return [tuple(r) for r in rows]


def plan_from_database(session: Session, options: MigrationOptions, rules: NameRules) -> Plan:
    return build_plan(load_accounts(session), options, rules)


# -- output ----------------------------------------------------------------------------
PLAN_FIELDS = ("id", "old", "new", "status", "reason", "problem", "source")


def plan_csv(items: Iterable[PlanItem]) -> str:
    """The plan for a spreadsheet: a report to read (controls neutralised, no cell a
    formula); the JSON form keeps every value exactly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PLAN_FIELDS)
    for item in items:
        writer.writerow([csv_cell(safe_text(getattr(item, f))) for f in PLAN_FIELDS])
    return out.getvalue()


def plan_json(plan: Plan) -> str:
    return safe_json({"summary": plan.counts(), "items": [asdict(i) for i in plan.items]},
                     indent=1)


def format_item(item: PlanItem) -> str:
    """One line of the printed plan, its values neutralised (domain/display.py)."""
    arrow = f"{item.old} -> {item.new}" if item.new else f"{item.old} -> ?"
    text = f"[{item.status}] {arrow}  ({item.reason})"
    if item.problem and item.problem != item.reason:
        text += f"  PROBLEM: {item.problem}"
    return safe_text(text)
