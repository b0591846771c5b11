"""Masks of personal information keep only what a person may be shown."""

from hypothesis import given
from hypothesis import strategies as st

from processors.privacy import mask_name, mask_phone


def test_a_mobile_number_keeps_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_a_name_keeps_its_first_character() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("李") == "李*"


@given(st.text(alphabet="0123456789", min_size=3, max_size=32))
def test_a_masked_phone_never_shows_more_than_seven_digits(phone: str) -> None:
    shown = mask_phone(phone)
    assert len(shown) == len(phone)
    assert sum(c != "*" for c in shown) <= min(7, len(phone) - 1) or len(phone) <= 7
    if len(phone) > 7:
        assert phone not in shown
