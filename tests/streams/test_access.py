"""Bearer tokens for the seeker- and job-specific answers."""

from streams.access import refusal

TOKENS = ("alpha-token", "beta-token")


def test_a_configured_token_passes_and_every_other_request_gets_a_reason() -> None:
    assert refusal({"Authorization": "Bearer beta-token"}, TOKENS) is None
    assert refusal({}, TOKENS) == "send Authorization: Bearer <token>"
    assert refusal({"Authorization": "Basic YWxwaGE="}, TOKENS) == (
        "send Authorization: Bearer <token>"
    )
    wrong = refusal({"Authorization": "Bearer alpha"}, TOKENS)
    assert wrong == "the bearer token is not one of the configured tokens"


def test_with_no_token_configured_everyone_is_refused_and_told_how_to_configure() -> None:
    why = refusal({"Authorization": "Bearer anything"}, ())
    assert why is not None and "GIGSTREAM_API_TOKENS" in why


def test_a_refusal_never_echoes_the_offered_token() -> None:
    why = refusal({"Authorization": "Bearer s3cret-guess"}, TOKENS)
    assert why is not None and "s3cret" not in why
