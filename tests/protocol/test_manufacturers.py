"""The FLAG ID -> manufacturer lookup."""

from __future__ import annotations

import pytest

from poller.protocol import MANUFACTURERS, Identification, manufacturer_name


@pytest.mark.parametrize(
    ("flag", "name"), [("LGZ", "Landis+Gyr"), ("ISk", "Iskra"), ("esy", "EasyMeter")]
)
def test_a_flag_id_names_its_manufacturer_in_any_case(flag: str, name: str) -> None:
    assert manufacturer_name(flag) == name


def test_an_unknown_flag_id_is_none() -> None:
    assert manufacturer_name("XYZ") is None


def test_the_table_is_read_only_and_keyed_by_upper_case_flag_ids() -> None:
    assert all(len(k) == 3 and k.isupper() for k in MANUFACTURERS)
    with pytest.raises(TypeError):
        MANUFACTURERS["NEW"] = "x"  # type: ignore[index]


def test_an_identifications_manufacturer_is_the_key() -> None:
    ident = Identification(manufacturer="KAM", baud_char="5", ident="MC602")
    assert manufacturer_name(ident.manufacturer) == "Kamstrup"
