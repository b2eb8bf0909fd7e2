"""Names, aliases and version references are checked before anything is written."""

from __future__ import annotations

import pytest

from falaj.errors import InvalidInputError
from falaj.registry.models import (
    check_alias,
    check_model_name,
    check_tags,
    check_version_number,
    parse_version_ref,
)


def test_version_refs_are_numbers_aliases_or_latest() -> None:
    assert parse_version_ref(3) == 3
    assert parse_version_ref(" 12 ") == 12
    assert parse_version_ref("champion") == "champion"
    assert parse_version_ref("latest") == "latest"


@pytest.mark.parametrize("ref", [0, -1, True, 2.5, "", "bad alias"])
def test_invalid_version_refs_are_refused_naming_the_value(ref: object) -> None:
    with pytest.raises(InvalidInputError, match=r"is invalid"):
        parse_version_ref(ref)


@pytest.mark.parametrize("ref", [2**31, 10**30, "99999999999999999999"])
def test_version_numbers_past_the_db_integer_are_refused(ref: object) -> None:
    with pytest.raises(InvalidInputError, match=f"version {ref!r} is invalid"):
        parse_version_ref(ref)
    assert parse_version_ref(2**31 - 1) == 2**31 - 1


def test_a_superscript_digit_is_not_a_version_number() -> None:
    with pytest.raises(InvalidInputError, match="alias '\u00b2' is invalid"):
        parse_version_ref("\u00b2")
    with pytest.raises(InvalidInputError, match="version '\u00b2' is invalid"):
        check_version_number("\u00b2")


def test_alias_must_start_with_a_letter_so_digits_always_mean_a_version() -> None:
    assert check_alias("challenger-2") == "challenger-2"
    with pytest.raises(InvalidInputError, match="alias '2nd' is invalid"):
        check_alias("2nd")


def test_latest_is_a_reserved_alias() -> None:
    with pytest.raises(InvalidInputError, match="alias 'latest' is reserved"):
        check_alias("latest")


def test_model_names_cannot_contain_a_slash() -> None:
    assert check_model_name("credit-risk.v2") == "credit-risk.v2"
    with pytest.raises(InvalidInputError, match="model name 'team/model' is invalid"):
        check_model_name("team/model")


def test_tag_values_must_be_strings() -> None:
    assert check_tags({"team": "risk"}) == {"team": "risk"}
    with pytest.raises(InvalidInputError, match="tag 'n' value 1 is invalid"):
        check_tags({"n": 1})
