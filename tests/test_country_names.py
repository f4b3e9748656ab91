"""auditor/data/country_names.json answers what phonenumbers' geocoder answers.

The table exists only because importing the geocoder costs half a second per run; if the
installed phonenumbers names a country otherwise, run scripts/make-country-names.
"""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import geocoder

from auditor.extract.numberinfo import country_label, country_name


def _geocoder_name(iso: str) -> str:
    example = phonenumbers.example_number(iso)
    return geocoder.country_name_for_number(example, "en") if example else ""


@pytest.mark.parametrize("iso", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_region_is_named_as_the_geocoder_names_it(iso: str) -> None:
    assert country_name(iso) == _geocoder_name(iso), "run scripts/make-country-names"


def test_names_and_labels() -> None:
    assert country_name("GB") == "United Kingdom"
    assert country_label("TR") == "Turkey (TR)"
    assert country_label("CI") == "Côte d'Ivoire (CI)"
    # Unknown, empty, lower-case and non-country codes: no name, as the geocoder gives none.
    for iso in ("ZZ", "", None, "gb", "001", "XK"):
        assert country_name(iso) == ""
    assert country_label("XK") == "XK" and country_label(None) == "an unknown country"
