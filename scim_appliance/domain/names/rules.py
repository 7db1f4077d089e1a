"""Name rules: the character, length and uniqueness rules of a downstream directory.

Alibaba Cloud CloudSSO refuses user names outside `[A-Za-z0-9@._-]{1,64}` and group
names outside `[A-Za-z0-9._-]{1,128}` (Alibaba Cloud's
CreateUser/CreateGroup API documentation and its ROS validators). Entra sends whatever its
tenant holds (UPNs with `'`, `!`, `#`, display names with spaces, `&`, CJK), so the
appliance derives a valid name itself instead of making every administrator write
mapping expressions (§3).

This module is pure: presets, the sanitising pipeline of §6.2, collision suffixes
(§6.4), reject-mode diagnostics with the Entra expression that would fix a name at the
source, and free-text cleaning (§6.3). The database side is `derived_names.py`.

Lengths are counted in UTF-16 code units, the conservative reading of "characters"
(§1.2: CloudSSO does not say which unit it counts), and cuts never split a character
made of several code units or a base letter from its combining marks.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field

USER_NAME = "userName"
GROUP_NAME = "group"  # the group's displayName; "group" keeps the two fields apart
FIELDS = (USER_NAME, GROUP_NAME)

# §6.1 `drop`: apostrophes vanish (O'Brien -> OBrien) rather than become separators.
APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
SEPARATORS = "._-"
# §6.2 step 7: keep the domain of a user name only if this much local part survives.
MIN_LOCAL = 8

# §3 NormalizeDiacritics extras (æ ø œ ß ł ı) and the notes' additions (đ ð þ ħ ŧ):
# letters that NFKD does not decompose. Upper case is symmetric, as in Entra's table.
_SPECIAL_FOLD = {
    "æ": "ae", "Æ": "AE", "ǣ": "ae", "Ǣ": "AE", "ø": "oe", "Ø": "OE", "œ": "oe", "Œ": "OE",
    "ß": "ss", "ẞ": "SS", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ð": "d",
    "Ð": "D", "þ": "th", "Þ": "TH", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T",
}
_FOLD_TABLE = str.maketrans(_SPECIAL_FOLD)
_MARKS = ("Mn", "Mc", "Me")


# -- hashing: deterministic suffixes and fallbacks (§6.1) ------------------------------
def short_hash(key: str, width: int) -> str:
    """First `width` chars of lowercase base32(sha256(key)): alphabet a-z2-7 (§6.1)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:width]


# -- code units and grapheme-safe cuts -------------------------------------------------
def units(text: str) -> int:
    """Length in UTF-16 code units (a character beyond U+FFFF counts twice)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _extends(prev: str, ch: str) -> bool:
    """Whether `ch` belongs to the same user-perceived character as `prev`.

    A simplified grapheme rule (UAX #29) that covers what names contain: combining
    marks, ZWJ sequences, variation selectors, emoji skin-tone modifiers, tag
    sequences (flags of regions) and regional-indicator pairs.
    """
    cp = ord(ch)
    return (
        unicodedata.category(ch) in _MARKS
        or ch == "\u200d"
        or (prev.endswith("\u200d") and unicodedata.category(ch) == "So")
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
        or (0x1F1E6 <= cp <= 0x1F1FF and _open_regional_pair(prev))
    )


def _open_regional_pair(cluster: str) -> bool:
    return len(cluster) == 1 and 0x1F1E6 <= ord(cluster) <= 0x1F1FF


def clusters(text: str) -> list[str]:
    """Split into user-perceived characters (see `_extends`)."""
    out: list[str] = []
    for ch in text:
        if out and _extends(out[-1], ch):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def truncate(text: str, limit: int) -> str:
    """The longest prefix of whole characters that fits in `limit` UTF-16 code units."""
    if units(text) <= limit:
        return text
    kept, used = [], 0
    for cluster in clusters(text):
        size = units(cluster)
        if used + size > limit:
            break
        kept.append(cluster)
        used += size
    return "".join(kept)


# -- rules -----------------------------------------------------------------------------
def _escape_class(chars: str) -> str:
    """Characters for inside a regex `[...]`, in Python and .NET alike."""
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars)


@dataclass(frozen=True)
class FieldRule:
    """What a downstream directory accepts for one name field, and how to get there.

    Allowed characters are either an ASCII regex class body (`charset`, e.g.
    `A-Za-z0-9@._-`) or Unicode general categories (`categories`, e.g. L M S N P for
    AWS) plus `extra` characters, minus `exclude`. `charset=None` with no categories
    means "anything" (the `none` preset). `unique` is how two derived names are
    compared: `casefold` (the default; CloudSSO and RFC 7643 userName are
    case-insensitive, §1.4) or `exact`.
    """

    field: str
    preset: str
    max_length: int | None
    charset: str | None = None
    categories: tuple[str, ...] = ()
    extra: str = ""
    exclude: str = ""
    unique: str = "casefold"
    case: str = "preserve"  # or "lower" (IDaaS lower-cases everything, §1.4)
    normalize: bool = True  # NFKC + trim before anything else (§6.2 step 1)
    fold: bool = True  # diacritics folded like Entra's NormalizeDiacritics (§3)
    drop: str = APOSTROPHES
    replacement: str = "_"
    separators: str = SEPARATORS
    keep_domain: bool = False  # user names: split at the last '@', keep the domain
    fallback: str = "name-{h8}"
    reserved: tuple[str, ...] = ()
    description: str = ""
    _class: re.Pattern | None = dataclass_field(default=None, init=False, repr=False,
                                                compare=False)

    def __post_init__(self):
        if self.charset is not None:
            try:
                object.__setattr__(self, "_class", re.compile(f"[{self.charset}]"))
            except (re.error, TypeError) as exc:
                raise ValueError(f"charset {self.charset!r} is not a regex class body: "
                                 f"{exc}") from None
        if self.max_length is not None and (not isinstance(self.max_length, int)
                                            or isinstance(self.max_length, bool)):
            raise ValueError(f"max_length must be a whole number, not {self.max_length!r}")
        if self.unique not in ("casefold", "exact"):
            raise ValueError(f"unique must be 'casefold' or 'exact', not {self.unique!r}")
        if self.case not in ("preserve", "lower"):
            raise ValueError(f"case must be 'preserve' or 'lower', not {self.case!r}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError("max_length must be at least 1")
        for ch in self.replacement:
            if not self.allows(ch):
                raise ValueError(f"the replacement {self.replacement!r} is not allowed by "
                                 f"the rule itself")

    @property
    def unrestricted(self) -> bool:
        return self.charset is None and not self.categories

    def allows(self, ch: str) -> bool:
        if ch in self.exclude:
            return False
        if self._class is not None:
            return self._class.fullmatch(ch) is not None
        if not self.categories:
            return True
        return ch in self.extra or unicodedata.category(ch)[0] in self.categories \
            or unicodedata.category(ch) in self.categories

    def is_valid(self, name: str) -> bool:
        """The name as it stands satisfies the rule (reserved names aside)."""
        if self.unrestricted:
            return True
        size = units(name)
        if size < 1 or (self.max_length is not None and size > self.max_length):
            return False
        return all(self.allows(ch) for ch in name)

    def key(self, name: str) -> str:
        """What uniqueness compares (stored in the `*_key` columns)."""
        return name.casefold() if self.unique == "casefold" else name

    def is_reserved(self, name: str) -> bool:
        return self.key(name) in {self.key(r) for r in self.reserved}

    @property
    def pattern(self) -> str:
        """The rule as a regular expression, for messages and documentation."""
        if self.unrestricted:
            return ".*"
        count = f"{{1,{self.max_length}}}" if self.max_length else "+"
        if self.charset is not None:
            body = f"[{self.charset}]"
        else:
            body = "[" + "".join(f"\\p{{{c}}}" for c in self.categories) + \
                _escape_class(self.extra) + "]"
        if self.exclude:
            body = f"(?:(?![{_escape_class(self.exclude)}]){body})"
        return f"^{body}{count}$"

    def entra_class(self) -> str:
        """A .NET regex matching one disallowed character (Entra's Replace, §3)."""
        if self.charset is not None:
            out = f"[^{self.charset}]"
        else:
            out = "[^" + "".join(f"\\p{{{c}}}" for c in self.categories) + \
                _escape_class(self.extra) + "]"
        if self.exclude:
            out += f"|[{_escape_class(self.exclude)}]"
        # Entra expression strings escape a backslash with a backslash (§3's examples).
        return out.replace("\\", "\\\\")

    def entra_expression(self) -> str:
        """The Entra attribute-mapping expression that produces a valid value (§3).

        Its `Left` cuts the domain off long UPNs and nothing checks uniqueness, which
        is why the appliance also sanitises; but it fixes the name at the source.
        """
        if self.unrestricted:
            return ""
        if self.field == USER_NAME:
            source = "StripSpaces([userPrincipalName])"
            repl = ""
        else:
            source = "[displayName]"
            repl = self.replacement  # a run of bad characters becomes one, as here
        if self.fold:
            source = f"NormalizeDiacritics({source})"
        pattern = self.entra_class() if not repl else f"({self.entra_class()})+"
        expr = f'Replace({source}, , "{pattern}", , "{repl}", , )'
        if self.case == "lower":
            expr = f"ToLower({expr})"
        return f"Left({expr}, {self.max_length})" if self.max_length else expr


# -- presets (§4) ----------------------------------------------------------------------
def _cloudsso(field: str, preset: str = "cloudsso") -> FieldRule:
    if field == USER_NAME:
        return FieldRule(USER_NAME, preset, 64, charset="A-Za-z0-9@._-", keep_domain=True,
                         fallback="user-{h8}",
                         description="ASCII letters, digits and @ . _ -; 1-64 characters "
                                     "(CloudSSO's CreateUser API)")
    return FieldRule(GROUP_NAME, preset, 128, charset="A-Za-z0-9._-", fallback="group-{h8}",
                     description="ASCII letters, digits and . _ -; no @, no spaces; 1-128 "
                                 "characters (CloudSSO's CreateGroup API)")


def _cloudsso_ram(field: str) -> FieldRule:
    if field == USER_NAME:
        # RAM user names have no '@'; 60 leaves room for CloudSSO's `_sso` (§1.4, §4).
        return FieldRule(USER_NAME, "cloudsso-ram", 60, charset="A-Za-z0-9._-",
                         fallback="user-{h8}",
                         description="ASCII letters, digits and . _ -; no @; 1-60 characters "
                                     "(RAM user names, room for CloudSSO's `_sso` suffix)")
    return _cloudsso(GROUP_NAME, "cloudsso-ram")


_AWS_RESERVED = ("Administrator", "AWSAdministrators")


def _aws(field: str) -> FieldRule:
    # IAM Identity Center: letters (accented too), marks, symbols, numbers, punctuation;
    # older SDK text also excludes `<>;:%`, so both are honoured (§4).
    if field == USER_NAME:
        return FieldRule(USER_NAME, "aws-identity-center", 128, categories=("L", "M", "S",
                         "N", "P"), exclude="<>;:%", fold=False, drop="", keep_domain=True,
                         fallback="user-{h8}", reserved=_AWS_RESERVED,
                         description="letters (accented too), marks, symbols, numbers and "
                                     "punctuation except < > ; : %; 1-128 characters; "
                                     "Administrator and AWSAdministrators are reserved "
                                     "(AWS Identity Store's CreateUser API)")
    return FieldRule(GROUP_NAME, "aws-identity-center", 1024, categories=("L", "M", "S", "N",
                     "P"), extra=" ", fold=False, drop="", replacement=" ",
                     separators=SEPARATORS + " ", fallback="group-{h8}",
                     reserved=_AWS_RESERVED,
                     description="letters, marks, symbols, numbers, punctuation and spaces; "
                                 "1-1024 characters (AWS Identity Store's CreateGroup API)")


def _none(field: str) -> FieldRule:
    return FieldRule(field, "none", None, normalize=False, fold=False, drop="",
                     replacement="", fallback="user-{h8}" if field == USER_NAME
                     else "group-{h8}", description="no rules: names pass as sent")


PRESETS: dict[str, Callable[[str], FieldRule]] = {
    "cloudsso": _cloudsso,
    "cloudsso-ram": _cloudsso_ram,
    "aws-identity-center": _aws,
    "none": _none,
}
MODES = ("sanitize", "reject")


def preset_rule(preset: str, field: str) -> FieldRule:
    """The rule of `preset` for `field`, built afresh on every call.

    Presets are factories, never rules built at import time, so that a test (and
    `make mutation`) that calls this reaches the preset's definition.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown name-rules preset {preset!r}; choose one of "
                         f"{', '.join(PRESETS)}")
    if field not in FIELDS:
        raise ValueError(f"unknown name field {field!r}; choose {' or '.join(FIELDS)}")
    return PRESETS[preset](field)


# -- the pipeline (§6.2) ---------------------------------------------------------------
def normalize(value: str, rule: FieldRule) -> str:
    """§6.2 step 1: NFKC (full-width forms, ligatures), trim, case policy."""
    if not rule.normalize:
        return value
    text = unicodedata.normalize("NFKC", value).strip()
    return text.lower() if rule.case == "lower" else text


def fold(text: str) -> str:
    """Diacritics folded the way Entra's NormalizeDiacritics does (§3, §6.2 step 5)."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
    return "".join(ch for ch in text if unicodedata.category(ch) not in _MARKS)


def _clean(part: str, rule: FieldRule, forbid: str = "") -> str:
    """§6.2 step 5 for one part: fold, drop, replace, collapse, trim.

    `forbid` lists allowed characters that are refused here anyway: the local part
    of a user name keeps no '@' once the last one has been split off (step 3).
    """
    if rule.fold:
        part = fold(part)
    if rule.drop:
        part = "".join(ch for ch in part if ch not in rule.drop or rule.allows(ch))
    seps = {s for s in rule.separators if rule.allows(s)}
    out: list[str] = []
    run: list[str | None] = []  # None marks a replaced character

    def flush():
        if None in run:
            firsts = [s for s in run if s is not None]
            out.append(firsts[0] if firsts else rule.replacement)
        else:
            out.extend(run)  # separators the client sent, untouched
        run.clear()

    for cluster in clusters(part):
        allowed = "".join(c for c in cluster if c not in forbid and rule.allows(c))
        if cluster in seps:
            run.append(cluster)
        elif allowed and allowed[0] == cluster[0]:
            # The base character survives; stray extenders it carried do not.
            flush()
            out.append(allowed)
        else:
            run.append(None)
    flush()
    return "".join(out).strip("".join(seps))


def _domain(domain: str, rule: FieldRule) -> str:
    """§6.2 step 4: a non-ASCII domain becomes punycode when IDNA can encode it."""
    if all(rule.allows(ch) for ch in domain) or domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def fallback_name(rule: FieldRule, key: str) -> str:
    return rule.fallback.format(h8=short_hash(key, 8), h6=short_hash(key, 6))


def _cut(text: str, limit: int, rule: FieldRule) -> str:
    """Truncate on a character boundary, then re-trim trailing separators (step 7)."""
    seps = "".join(s for s in rule.separators if rule.allows(s))
    cut = truncate(text, limit)
    return cut.rstrip(seps) or cut


def _fit(local: str, domain: str, rule: FieldRule) -> str:
    """§6.2 step 7: cut to the limit, keeping the domain if ≥ 8 local chars remain."""
    limit = rule.max_length
    name = f"{local}@{domain}" if domain else local
    if limit is None or units(name) <= limit:
        return name
    if domain:
        budget = limit - units(domain) - 1
        if budget >= MIN_LOCAL:
            return f"{_cut(local, budget, rule)}@{domain}"
    return _cut(local, limit, rule)


def sanitize(value: str, rule: FieldRule, key: str) -> str:
    """The valid name derived from `value` (before collisions): §6.2 steps 1-8.

    `key` (externalId, else the appliance id) feeds the fallback when nothing
    survives, so the same identity always gets the same name. Idempotent: a value
    that is already valid after NFKC and trimming comes back as it is.
    """
    if rule.unrestricted:
        return value
    text = normalize(value, rule)
    if rule.is_valid(text):
        return text  # fast path (step 2)
    if rule.drop:
        # Drop before NFKC too: NFKC turns U+00B4 into a space and a combining mark.
        text = normalize("".join(ch for ch in value if ch not in rule.drop), rule)
    local, domain, forbid = text, "", ""
    if rule.keep_domain and "@" in text:
        local, domain = text.rsplit("@", 1)  # step 3: keep the last '@'
        domain = _clean(_domain(domain, rule), rule)
        forbid = "@"
    local = _clean(local, rule, forbid) or fallback_name(rule, key)
    name = _fit(local, domain, rule)
    if not name:
        name = _cut(fallback_name(rule, key), rule.max_length or 64, rule)
    name = normalize(name, rule)
    if not rule.is_valid(name):  # pragma: no cover - the pipeline guarantees it
        raise AssertionError(f"derived {name!r} from {value!r} breaks {rule.pattern}")
    return name


# -- collisions (§6.4) -----------------------------------------------------------------
def with_suffix(name: str, suffix: str, rule: FieldRule) -> str:
    """`name` + `suffix` within the limit; for user names the suffix goes before '@'."""
    limit = rule.max_length
    local, domain = name, ""
    if rule.keep_domain and "@" in name:
        local, domain = name.rsplit("@", 1)
    if limit is None:
        return f"{local}{suffix}@{domain}" if domain else f"{local}{suffix}"
    if domain:
        budget = limit - units(suffix) - units(domain) - 1
        if budget >= 1:
            return f"{_cut(local, budget, rule)}{suffix}@{domain}"
    return _cut(local, max(limit - units(suffix), 1), rule) + suffix


def candidates(base: str, key: str, rule: FieldRule) -> Iterator[str]:
    """`base`, then `base-{h6}`, `base-{h8}`, `base-{h6(key#2)}`, ... (§6.4)."""
    yield base
    dash = "-" if rule.allows("-") else rule.replacement
    for n in range(1, 1000):
        salted = key if n == 1 else f"{key}#{n}"
        for width in (6, 8):
            yield with_suffix(base, dash + short_hash(salted, width), rule)


def resolve(base: str, key: str, rule: FieldRule, taken: Callable[[str], bool]) -> str:
    """The first candidate whose uniqueness key is neither taken nor reserved.

    The first holder of a name keeps it; a later one gets a suffix derived from its
    own stable key, so a re-sync yields the same name for the same identity.
    """
    for name in candidates(base, key, rule):
        if not rule.is_reserved(name) and not taken(rule.key(name)):
            return name
    raise RuntimeError(f"no free name derived from {base!r}")  # pragma: no cover


# -- reject mode: what is wrong, and how to fix it in Entra ----------------------------
def _show(ch: str) -> str:
    return f'"{ch}" (U+{ord(ch):04X})' if ch.isprintable() and not ch.isspace() \
        else f"U+{ord(ch):04X}"


def violation(value: str, rule: FieldRule) -> str | None:
    """Why `value` (after NFKC and trimming) breaks the rule, or None if it does not."""
    if rule.unrestricted:
        return None
    text = normalize(value, rule)
    if rule.is_reserved(text):
        return f"'{text}' is a reserved name"
    if rule.is_valid(text):
        return None
    problems = []
    bad = list(dict.fromkeys(ch for ch in text if not rule.allows(ch)))
    if bad:
        shown = ", ".join(_show(ch) for ch in bad[:10])
        more = f" and {len(bad) - 10} more" if len(bad) > 10 else ""
        problems.append(f"it contains {shown}{more}")
    if not text:
        problems.append("it is empty")
    elif rule.max_length is not None and units(text) > rule.max_length:
        problems.append(f"it is {units(text)} characters long (at most {rule.max_length})")
    return "; ".join(problems)


def field_label(field: str) -> str:
    return "userName" if field == USER_NAME else "displayName"


def reject_detail(value: str, rule: FieldRule, problem: str) -> str:
    """The 400 detail: field, offending characters, the rule, the Entra fix (§6.4)."""
    label = field_label(rule.field)
    what = "user" if rule.field == USER_NAME else "group"
    detail = (f"{label} {value!r} breaks the '{rule.preset}' name rule for {what} names "
              f"({rule.description}; {rule.pattern}): {problem}.")
    expr = rule.entra_expression()
    if expr and "reserved" not in problem:
        detail += (f" Fix it at the source: in Entra's attribute mappings, map {label} "
                   f"with the expression {expr}")
    detail += (" (or set NAME_RULES_MODE to 'sanitize' and the appliance derives a valid "
               "name itself).")
    return detail


# -- free text (§6.3): displayName, given and family names -----------------------------
_DROP_TEXT = {"Cc", "Cs", "Co", "Cn", "Cf"}


def clean_text(value: str, max_length: int | None = None) -> str | None:
    """Free text: NFC, invisible/control characters removed (ZWJ kept), whitespace
    collapsed, cut on character boundaries; None when nothing is left (§6.3).

    CloudSSO restricts only the length of these fields (§1.2), so accents, CJK and
    emoji stay.
    """
    text = unicodedata.normalize("NFC", value)
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROP_TEXT or ch == "\u200d":
            kept.append(ch)
    text = re.sub(" +", " ", "".join(kept)).strip()
    if max_length is not None:
        text = truncate(text, max_length).rstrip()
    return text or None
