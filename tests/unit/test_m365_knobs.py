"""`mailflip sim m365 --config FILE`: knobs over the defaults, bad values named."""

from __future__ import annotations

import pytest

from mailflip.errors import InvalidInput
from mailflip.tenant.simulator import Knobs
from mailflip.tenant.simulator.config import MxStyle, knobs_from


def test_knobs_from_overrides_only_what_the_file_names() -> None:
    knobs = knobs_from({"knobs": {"throttle_every": 5, "mailbox_delay_s": 1200,
                                  "mx_style": "dane", "page_size": 7}})
    assert (knobs.throttle_every, knobs.mailbox_delay_s, knobs.page_size) == (5, 1200, 7)
    assert knobs.mx_style is MxStyle.DANE
    assert knobs.bucket_capacity == Knobs().bucket_capacity
    assert knobs_from(None) == Knobs() == knobs_from({"knobs": None})


@pytest.mark.parametrize(("raw", "field", "says"), [
    ({"knobs": {"throttle_evry": 3}}, "knobs.throttle_evry", "unknown knob"),
    ({"knobs": {"mailbox_delay_s": -1}}, "knobs.mailbox_delay_s", "0 or more"),
    ({"knobs": {"mailbox_delay_s": "5m"}}, "knobs.mailbox_delay_s", "a number"),
    ({"knobs": {"throttle_every": 2.5}}, "knobs.throttle_every", "whole number"),
    ({"knobs": {"lose_create_every": True}}, "knobs.lose_create_every", "a number"),
    ({"knobs": {"mx_style": "fancy"}}, "knobs.mx_style", "classic, dane"),
    ({"knobs": [1, 2]}, "knobs", "mapping"),
    ({"throttle_every": 3}, "config", "`knobs:`"),
    ("knobs", "config", "`knobs:`"),
])
def test_knobs_from_refuses_a_bad_value_naming_the_field(raw: object, field: str,
                                                          says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        knobs_from(raw)
    assert refused.value.field == field and says in str(refused.value)
