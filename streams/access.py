"""Who may read seeker- and job-specific answers: a bearer token from the configured list.

City-wide answers (the circle's queries, coverage, metrics) stay public; the
ranked lists name seekers and jobs, so they need one of GIGSTREAM_API_TOKENS.
With none configured they refuse everyone, and say how to configure one.
Tokens are compared in constant time and never logged or echoed.
"""

import hmac
from collections.abc import Mapping

SCHEME = "Bearer "


def refusal(headers: Mapping[str, str], tokens: tuple[str, ...]) -> str | None:
    """Why the request may not read, or None when its bearer token is one of the tokens."""
    if not tokens:
        return "this endpoint needs a bearer token; none is configured (set GIGSTREAM_API_TOKENS)"
    given = headers.get("Authorization", "")
    if not given.startswith(SCHEME):
        return "send Authorization: Bearer <token>"
    offered = given.removeprefix(SCHEME).strip().encode()
    if any(hmac.compare_digest(offered, token.encode()) for token in tokens):
        return None
    return "the bearer token is not one of the configured tokens"
