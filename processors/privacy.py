"""Masks for personal information: what may be shown of a phone number or a name.

Phones keep their first three and last four digits (138****5678), names their
first character (张*), as Chinese public services show them.
"""


def mask_phone(phone: str) -> str:
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1)
