"""The name-rules presets, each built inside the test that checks it (issue 13, item 20).

test_names.py builds its rule list at import time, so a mutant of a preset function
(domain/names/rules.py) never ran under any test; here every test calls `preset_rule`
itself. What is pinned is what a downstream directory accepts (notes §1, §4): lengths,
characters, domains, reserved names, fallbacks, and the rule options (`case`,
`unique`) with their validation.
"""

from __future__ import annotations

import re

import pytest

from scim_appliance.domain.names.rules import (
    FIELDS,
    GROUP_NAME,
    PRESETS,
    USER_NAME,
    FieldRule,
    _escape_class,
    clean_text,
    clusters,
    fallback_name,
    normalize,
    preset_rule,
    reject_detail,
    resolve,
    sanitize,
    truncate,
    units,
    violation,
    with_suffix,
)

AWS = "aws-identity-center"
LIMITS = [("cloudsso", USER_NAME, 64), ("cloudsso", GROUP_NAME, 128),
          ("cloudsso-ram", USER_NAME, 60), ("cloudsso-ram", GROUP_NAME, 128),
          (AWS, USER_NAME, 128), (AWS, GROUP_NAME, 1024)]
FALLBACK = {USER_NAME: re.compile(r"user-[a-z2-7]{8}"),
            GROUP_NAME: re.compile(r"group-[a-z2-7]{8}")}


@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("field", FIELDS)
def test_a_preset_rule_names_its_preset_and_field(preset, field):
    rule = preset_rule(preset, field)
    assert (rule.preset, rule.field) == (preset, field)


def test_unknown_presets_and_fields_are_value_errors():
    with pytest.raises(ValueError):
        preset_rule("okta", USER_NAME)
    with pytest.raises(ValueError):
        preset_rule("cloudsso", "displayName")


# -- lengths (UTF-16 code units) ----------------------------------------------------------
@pytest.mark.parametrize("preset, field, limit", LIMITS)
def test_each_preset_allows_exactly_its_length(preset, field, limit):
    rule = preset_rule(preset, field)
    assert rule.is_valid("a" * limit)
    assert not rule.is_valid("a" * (limit + 1))
    assert sanitize("a" * (limit + 7), rule, "k") == "a" * limit


@pytest.mark.parametrize("field", FIELDS)
def test_the_none_preset_has_no_length_and_no_normalisation(field):
    rule = preset_rule("none", field)
    assert rule.is_valid("a" * 5000) and rule.is_valid("")
    assert sanitize("  Ｘ <O'Brien> ", rule, "k") == "  Ｘ <O'Brien> "
    assert normalize("  Ｘ ", rule) == "  Ｘ "
    assert rule.entra_expression() == ""
    assert FALLBACK[field].fullmatch(fallback_name(rule, "k"))


# -- characters ---------------------------------------------------------------------------
def test_cloudsso_user_names_keep_case_at_sign_and_separators():
    rule = preset_rule("cloudsso", USER_NAME)
    assert sanitize("Alice.Smith-Jones_1@Contoso.com", rule, "k") == \
        "Alice.Smith-Jones_1@Contoso.com"
    assert sanitize("José@Exämple.com", rule, "k") == "Jose@xn--exmple-cua.com"


def test_cloudsso_group_names_refuse_the_at_sign():
    rule = preset_rule("cloudsso", GROUP_NAME)
    assert sanitize("Sales.Team-EU_1", rule, "k") == "Sales.Team-EU_1"
    assert not rule.is_valid("a@b")
    assert sanitize("a@b", rule, "k") == "a_b"


def test_cloudsso_ram_user_names_have_no_at_sign_and_no_domain():
    rule = preset_rule("cloudsso-ram", USER_NAME)
    assert not rule.is_valid("a@b.com")
    assert sanitize("a@b.com", rule, "k") == "a_b.com"
    assert preset_rule("cloudsso-ram", GROUP_NAME).is_valid("Sales.Team")


def test_aws_user_names_take_every_letter_mark_symbol_number_and_punctuation():
    rule = preset_rule(AWS, USER_NAME)
    for ch in ["é", "Z", "\u094d", "©", "€", "٣", "¿", "_"]:  # L, L, M, S, S, N, P, P
        assert rule.is_valid(f"a{ch}"), ch
    assert sanitize("é©€٣¿क\u094d", rule, "k") == "é©€٣¿क\u094d"
    assert sanitize("José O'Brien", rule, "k") == "José_O'Brien"  # no folding, no drop
    for ch in "<>;:%":
        assert not rule.is_valid(f"a{ch}b")
        assert sanitize(f"a{ch}b", rule, "k") == "a_b"
    assert not rule.is_valid("a b")


def test_aws_user_names_keep_a_unicode_domain_as_sent():
    rule = preset_rule(AWS, USER_NAME)
    assert sanitize("ü@exämple.com", rule, "k") == "ü@exämple.com"
    long_local = "x" * 130
    cut = sanitize(f"{long_local}@exämple.com", rule, "k")
    assert cut.endswith("@exämple.com") and len(cut) == 128


def test_aws_group_names_take_spaces_and_replace_with_a_space():
    rule = preset_rule(AWS, GROUP_NAME)
    assert sanitize("Müller O'Brien <x>", rule, "k") == "Müller O'Brien <x>"
    assert sanitize("a\x00b", rule, "k") == "a b"
    # A space next to a replaced character is a separator: the run becomes one space.
    assert sanitize("a \x00b", rule, "k") == "a b"
    assert sanitize("a\x00\x01 b", rule, "k") == "a b"


@pytest.mark.parametrize("preset, field, value", [
    ("cloudsso", USER_NAME, "!!!"), ("cloudsso", GROUP_NAME, "!!!"),
    ("cloudsso-ram", USER_NAME, "!!!"), ("cloudsso-ram", GROUP_NAME, "!!!"),
    (AWS, USER_NAME, "<<<"), (AWS, GROUP_NAME, "\x00\x01"),
])
def test_a_name_with_nothing_left_gets_the_fallback_of_its_field(preset, field, value):
    derived = sanitize(value, preset_rule(preset, field), "key-1")
    assert FALLBACK[field].fullmatch(derived), derived
    assert derived == sanitize(value, preset_rule(preset, field), "key-1")


# -- reserved names -----------------------------------------------------------------------
@pytest.mark.parametrize("field", FIELDS)
def test_aws_reserves_administrator_names_case_insensitively(field):
    rule = preset_rule(AWS, field)
    for name in ("Administrator", "administrator", "AWSADMINISTRATORS"):
        assert rule.is_reserved(name)
        assert violation(name, rule) is not None
    taken = resolve("Administrator", "k", rule, lambda key: False)
    assert taken != "Administrator" and taken.startswith("Administrator")
    assert not preset_rule("cloudsso", field).is_reserved("Administrator")


def test_reject_detail_offers_no_entra_expression_for_a_reserved_name():
    rule = preset_rule(AWS, USER_NAME)
    problem = violation("Administrator", rule)
    assert "Replace(" not in reject_detail("Administrator", rule, problem)
    bad = violation("a<b", rule)
    assert rule.entra_expression() in reject_detail("a<b", rule, bad)


def test_violations_never_show_control_or_space_characters_raw():
    rule = preset_rule("cloudsso", USER_NAME)
    problem = violation("a\x1bb c\u2028d", rule)
    assert "\x1b" not in problem and "\u2028" not in problem
    assert "U+001B" in problem and "U+0020" in problem and "U+2028" in problem
    assert '"!" (U+0021)' in violation("a!", rule)


# -- the Entra expression that fixes a name at the source (notes §3) ------------------------
def test_entra_expressions_of_the_cloudsso_presets():
    assert preset_rule("cloudsso", USER_NAME).entra_expression() == (
        'Left(Replace(NormalizeDiacritics(StripSpaces([userPrincipalName])), , '
        '"[^A-Za-z0-9@._-]", , "", , ), 64)')
    assert preset_rule("cloudsso", GROUP_NAME).entra_expression() == (
        'Left(Replace(NormalizeDiacritics([displayName]), , "([^A-Za-z0-9._-])+", , "_", , ), '
        '128)')


def test_entra_expression_follows_case_and_length_options():
    lower = FieldRule(GROUP_NAME, "custom", None, charset="a-z_", case="lower")
    assert lower.entra_expression() == \
        'ToLower(Replace(NormalizeDiacritics([displayName]), , "([^a-z_])+", , "_", , ))'


# -- rule options and their validation ------------------------------------------------------
def test_case_lower_lowercases_every_name():
    rule = FieldRule(USER_NAME, "custom", 20, charset="a-z@._", case="lower")
    assert normalize("Alice@X.COM", rule) == "alice@x.com"
    assert sanitize("Alice@X.COM", rule, "k") == "alice@x.com"


def test_unique_exact_compares_names_as_written():
    exact = FieldRule(USER_NAME, "custom", 20, charset="A-Za-z_", unique="exact",
                      reserved=("Admin",))
    assert exact.key("Alice") == "Alice" and exact.key("Alice") != exact.key("alice")
    assert exact.is_reserved("Admin") and not exact.is_reserved("admin")
    folded = FieldRule(USER_NAME, "custom", 20, charset="A-Za-z_", reserved=("Admin",))
    assert folded.key("Alice") == folded.key("ALICE")
    assert folded.is_reserved("admin")


@pytest.mark.parametrize("options", [
    {"unique": "exact"}, {"unique": "casefold"}, {"case": "lower"}, {"case": "preserve"},
    {"max_length": 1},
])
def test_valid_rule_options_are_accepted(options):
    settings = {"max_length": 10, **options}
    FieldRule(USER_NAME, "custom", settings.pop("max_length"), charset="a-z_", **settings)


@pytest.mark.parametrize("options", [
    {"unique": "EXACT"}, {"unique": "ci"}, {"case": "LOWER"}, {"case": "upper"},
    {"max_length": 0}, {"max_length": -3}, {"max_length": True}, {"max_length": "64"},
    {"charset": "a-z["}, {"replacement": "!"},
])
def test_invalid_rule_options_are_value_errors(options):
    settings = {"max_length": 10, "charset": "a-z_", **options}
    with pytest.raises(ValueError):
        FieldRule(USER_NAME, "custom", settings.pop("max_length"), **settings)


def test_escaped_class_characters_match_only_themselves():
    chars = "a-z]^\\["
    pattern = re.compile(f"[{_escape_class(chars)}]")
    assert all(pattern.fullmatch(c) for c in chars)
    assert not any(pattern.fullmatch(c) for c in "bmy")
    assert _escape_class("<> ;") == "<> ;"


def test_clean_text_cuts_and_trims_the_end():
    assert clean_text("ab cd", 3) == "ab"
    assert clean_text("  ab  ", 10) == "ab"


def test_a_violation_shows_at_most_ten_offending_characters():
    rule = preset_rule("cloudsso", USER_NAME)
    problem = violation("a" + "!#$%&*+/=?^{" + "b", rule)  # 12 offending characters
    assert problem.count("U+") == 10 and "2 more" in problem


def test_length_violations_start_past_the_limit():
    rule = preset_rule("cloudsso", USER_NAME)
    assert violation("a" * 64, rule) is None
    assert violation("a" * 65, rule) is not None
    unlimited = FieldRule(USER_NAME, "custom", None, charset="a-z_")
    assert violation("a" * 500, unlimited) is None
    assert violation("aB", unlimited) is not None


def test_collision_suffixes_go_before_the_last_at_sign():
    rule = preset_rule(AWS, USER_NAME)
    assert with_suffix("a@b@c.com", "-x", rule) == "a@b-x@c.com"
    unlimited = FieldRule(USER_NAME, "custom", None, charset="a-z@._-", keep_domain=True)
    assert with_suffix("ab@c.com", "-x", unlimited) == "ab-x@c.com"
    assert with_suffix("ab", "-x", unlimited) == "ab-x"


def test_aws_group_names_take_marks_numbers_and_unfolded_accents():
    rule = preset_rule(AWS, GROUP_NAME)
    for ch in ["é", "\u094d", "©", "٣", "¿", " "]:
        assert rule.is_valid(f"a{ch}b"), ch
    assert sanitize("Müller\x00b", rule, "k") == "Müller b"


def test_aws_user_names_keep_accents_when_other_characters_are_replaced():
    rule = preset_rule(AWS, USER_NAME)
    assert sanitize("José<x", rule, "k") == "José_x"
    assert rule.is_valid("aX")


def test_cloudsso_ram_user_names_keep_upper_case():
    assert preset_rule("cloudsso-ram", USER_NAME).is_valid("Alice.Smith")


def test_fallbacks_hash_any_key_and_take_either_width():
    rule = preset_rule("cloudsso", USER_NAME)
    assert FALLBACK[USER_NAME].fullmatch(sanitize("!!!", rule, "\ud800x"))
    six = FieldRule(USER_NAME, "custom", 20, charset="a-z2-7_-", fallback="n-{h6}")
    assert re.fullmatch(r"n-[a-z2-7]{6}", fallback_name(six, "k"))


def test_regional_indicator_pairs_are_one_character():
    for flag in ("\U0001F1E6\U0001F1E6", "\U0001F1FF\U0001F1FF", "\U0001F1E9\U0001F1EA"):
        assert clusters(flag) == [flag]
    assert len(clusters("\U0001F200\U0001F1E6")) == 2


def test_a_suffix_keeps_the_domain_while_one_local_character_fits():
    rule = FieldRule(USER_NAME, "custom", 10, charset="a-z@._-", keep_domain=True)
    assert with_suffix("ab@cde.gh", "-x", rule) == "a-x@cde.gh"


def test_only_the_at_sign_is_refused_in_the_local_part():
    rule = preset_rule("cloudsso", USER_NAME)
    assert sanitize("Xavier<@contoso.com", rule, "k") == "Xavier@contoso.com"


def test_names_without_rules_still_get_a_dashed_collision_suffix():
    rule = preset_rule("none", USER_NAME)
    other = resolve("alice", "k", rule, {"alice"}.__contains__)
    assert re.fullmatch(r"alice-[a-z2-7]{6}", other)


# -- found by `make mutation` (second round): what each preset's options change -------------
def test_aws_user_names_keep_every_letter_when_another_character_is_replaced():
    """AWS drops nothing (`drop=""`): only the refused character changes."""
    rule = preset_rule(AWS, USER_NAME)
    assert sanitize("Xavier O'Neil<x", rule, "k") == "Xavier_O'Neil_x"


def test_aws_group_names_keep_apostrophes_when_another_character_is_replaced():
    rule = preset_rule(AWS, GROUP_NAME)
    assert sanitize("O'Xavier\x00b", rule, "k") == "O'Xavier b"


def test_aws_group_names_keep_letters_at_both_ends_next_to_a_replaced_character():
    """Only `. _ -` and the space are separators: letters are never merged or trimmed."""
    rule = preset_rule(AWS, GROUP_NAME)
    assert sanitize("Xavier\x00X", rule, "k") == "Xavier X"


def test_a_full_width_apostrophe_vanishes_like_an_ascii_one():
    """NFKC turns U+FF07 into `'`, which CloudSSO refuses and `drop` removes (§6.1)."""
    assert sanitize("Ｏ＇Brien", preset_rule("cloudsso", USER_NAME), "k") == "OBrien"
    assert sanitize("Ｏ＇Brien!x", preset_rule("cloudsso", GROUP_NAME), "k") == "OBrien_x"


def test_a_cut_keeps_a_final_letter_and_trims_only_separators():
    rule = preset_rule("cloudsso", USER_NAME)
    assert sanitize("a" * 63 + "XY", rule, "k") == "a" * 63 + "X"
    assert sanitize("a" * 63 + "-Y", rule, "k") == "a" * 63


def test_a_rule_without_a_length_limit_still_replaces_characters():
    unlimited = FieldRule(USER_NAME, "custom", None, charset="a-z_")
    assert sanitize("a b" * 50, unlimited, "k") == "a_b" * 50


def test_collision_suffixes_use_the_replacement_where_the_dash_is_refused():
    rule = FieldRule(GROUP_NAME, "custom", 30, charset="a-z0-9_")
    other = resolve("alice", "k", rule, {"alice"}.__contains__)
    assert re.fullmatch(r"alice_[a-z2-7]{6}", other)


@pytest.mark.parametrize("emoji", [
    "\U0001F44D\U0001F3FB", "\U0001F44D\U0001F3FF",  # skin tones: the first and the last
    "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",  # England
    "\U0001F3F4\U000E0020\U000E007F",  # the first tag character
])
def test_a_cut_never_splits_an_emoji_from_its_modifier_or_tags(emoji):
    assert clusters(emoji) == [emoji]
    assert truncate("a" + emoji, units("a" + emoji) - 1) == "a"


def test_a_regional_indicator_pairs_only_with_another_regional_indicator():
    assert clusters("\U0001F1E6\U0001F200") == ["\U0001F1E6", "\U0001F200"]
    assert clusters("\U0001F3FA\U0001F400") == ["\U0001F3FA", "\U0001F400"]


def test_escaped_class_characters_leave_letters_unescaped():
    """.NET and Python refuse an escaped letter such as `\\X`, so letters stay bare."""
    chars = "aX-z]^\\["
    assert re.compile(f"[{_escape_class(chars)}]").fullmatch("X")
    assert _escape_class("aX") == "aX"


def test_entra_expressions_of_the_aws_presets():
    """AWS names are not folded, and refused characters are listed by category."""
    assert preset_rule(AWS, USER_NAME).entra_expression() == (
        'Left(Replace(StripSpaces([userPrincipalName]), , '
        '"[^\\\\p{L}\\\\p{M}\\\\p{S}\\\\p{N}\\\\p{P}]|[<>;:%]", , "", , ), 128)')
    assert preset_rule(AWS, GROUP_NAME).entra_expression() == (
        'Left(Replace([displayName], , "([^\\\\p{L}\\\\p{M}\\\\p{S}\\\\p{N}\\\\p{P} ])+", , '
        '" ", , ), 1024)')
