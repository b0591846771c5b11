"""GET /seekers/{id}/matches and GET /jobs/{id}/candidates: the ranked lists, now.

Both rank exactly as the matcher does (processors.matching) over the same
index-based candidates. Seekers appear with their phone and name masked
(processors.privacy), never in full. Both need a bearer token (streams.access):
without one, 401. An unknown or inactive id gets 404, a bad parameter 400,
each with {"error": "<what to change>"}.
"""

import time
from typing import Any

import faust
from faust.web import Request, Response, View
from redis.asyncio import Redis

from processors import jobs, seekers
from processors.cards import job_card
from processors.ledger import JOB, SEEKER, Ref
from processors.matching import Match, best_jobs, best_seekers, checked_in_at, explain
from processors.privacy import mask_name, mask_phone
from streams.access import refusal
from streams.circle_params import BadParameter, limit_query
from streams.match_queries import jobs_near_seekers, seekers_near_jobs, seekers_now
from streams.matcher import MatchRules
from streams.store import read_states

SEEKER_MATCHES_PATH = "/seekers/{seeker_id}/matches"
JOB_CANDIDATES_PATH = "/jobs/{job_id}/candidates"


def register(app: faust.App, redis: Redis, rules: MatchRules, tokens: tuple[str, ...]) -> None:
    """Adds the ranked lists to the worker's web server, behind the bearer tokens."""

    async def seeker_matches(view: View, request: Request, seeker_id: str) -> Response:
        if (why := refusal(request.headers, tokens)) is not None:
            return view.error(401, why)
        limit = limit_query(request.query.items(), rules.top_jobs)
        if isinstance(limit, BadParameter):
            return view.error(400, limit.reason)
        now_ms = time.time_ns() // 1_000_000
        found = await seekers_now(redis, [seeker_id])
        if not found:
            return view.error(404, f"no active seeker {seeker_id!r}: check the id")
        candidates = (await jobs_near_seekers(redis, rules.model, found, now_ms))[0]
        best = best_jobs(found[0], candidates, now_ms, rules.model, rules.weights)
        cards = dict(candidates)
        items = [
            {
                **_match(m, explain(cards[m.job_id], found[0].card, m, now_ms)),
                "title": cards[m.job_id].title,
            }
            for m in best[:limit]
        ]
        return view.json({"seeker_id": seeker_id, "items": items, "total": len(best)})

    async def job_candidates(view: View, request: Request, job_id: str) -> Response:
        if (why := refusal(request.headers, tokens)) is not None:
            return view.error(401, why)
        limit = limit_query(request.query.items(), rules.top_seekers)
        if isinstance(limit, BadParameter):
            return view.error(400, limit.reason)
        now_ms = time.time_ns() // 1_000_000
        states = await read_states(redis, [Ref(JOB, job_id)])
        if not states:
            return view.error(404, f"no job {job_id!r}: check the id")
        state: jobs.JobState = states[0][1]
        job = job_card(state, now_ms)
        if job is None:
            closed = jobs.close_reason(state, now_ms)
            return view.json({"job_id": job_id, "open": False, "closed": closed, "items": []})
        candidates = (await seekers_near_jobs(redis, rules.model, [job]))[0]
        ranked = best_seekers(job_id, job, candidates, now_ms, rules.model, rules.weights)
        best = ranked[:limit]
        who = {seeker.seeker_id: seeker for seeker in candidates}
        profiles = dict(await read_states(redis, [Ref(SEEKER, m.seeker_id) for m in best]))
        items = [
            {
                **_match(m, explain(job, who[m.seeker_id].card, m, now_ms)),
                **_masked(profiles.get(Ref(SEEKER, m.seeker_id))),
                "checked_in": checked_in_at(who[m.seeker_id], now_ms) is not None,
            }
            for m in best
        ]
        return view.json({"job_id": job_id, "open": True, "items": items, "total": len(ranked)})

    app.page(SEEKER_MATCHES_PATH)(seeker_matches)
    app.page(JOB_CANDIDATES_PATH)(job_candidates)


def _match(found: Match, reasons: list[str]) -> dict[str, Any]:
    return {
        "job_id": found.job_id,
        "seeker_id": found.seeker_id,
        "score": found.score,
        "travel_minutes": found.travel_minutes,
        "reasons": reasons,
    }


def _masked(state: seekers.SeekerState | None) -> dict[str, Any]:
    profile = state.profile if state else None
    return {
        "name": mask_name(profile.name) if profile and profile.name else None,
        "phone": mask_phone(profile.phone) if profile and profile.phone else None,
    }
