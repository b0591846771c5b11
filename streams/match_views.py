"""GET /seekers/{id}/matches and GET /jobs/{id}/candidates: the ranked lists, now.

Both rank exactly as the matcher does (processors.matching) over the same
index-based candidates. Seekers appear with their phone and name masked
(processors.privacy), never in full. An unknown or inactive id gets 404, a bad
parameter 400, each with {"error": "<what to change>"}.
"""

import time
from typing import Any

import faust
from faust.web import Request, Response, View
from redis.asyncio import Redis

from processors import jobs
from processors.ledger import JOB, Ref
from processors.matching import Match, SeekerNow, best_jobs, best_seekers, checked_in_at
from processors.privacy import mask_name, mask_phone
from streams.circle_params import BadParameter, limit_query
from streams.match_queries import jobs_near_seeker, seekers_near_job, seekers_now
from streams.matcher import MatchRules
from streams.store import read_states

SEEKER_MATCHES_PATH = "/seekers/{seeker_id}/matches"
JOB_CANDIDATES_PATH = "/jobs/{job_id}/candidates"


def register(app: faust.App, redis: Redis, rules: MatchRules) -> None:
    """Adds the ranked lists to the worker's web server."""

    async def seeker_matches(view: View, request: Request, seeker_id: str) -> Response:
        limit = limit_query(request.query.items(), rules.top_jobs)
        if isinstance(limit, BadParameter):
            return view.error(400, limit.reason)
        now_ms = time.time_ns() // 1_000_000
        found = await seekers_now(redis, [seeker_id])
        if not found:
            return view.error(404, f"no active seeker {seeker_id!r}: check the id")
        candidates = await jobs_near_seeker(redis, rules.model, found[0], now_ms)
        best = best_jobs(found[0], candidates, now_ms, rules.model, rules.weights)
        titles = {job_id: job.title for job_id, job in candidates}
        items = [{**_match(m), "title": titles[m.job_id]} for m in best[:limit]]
        return view.json({"seeker_id": seeker_id, "items": items, "total": len(best)})

    async def job_candidates(view: View, request: Request, job_id: str) -> Response:
        limit = limit_query(request.query.items(), rules.top_seekers)
        if isinstance(limit, BadParameter):
            return view.error(400, limit.reason)
        now_ms = time.time_ns() // 1_000_000
        states = await read_states(redis, [Ref(JOB, job_id)])
        if not states:
            return view.error(404, f"no job {job_id!r}: check the id")
        state: jobs.JobState = states[0][1]
        reason = jobs.close_reason(state, now_ms)
        if reason is not None:
            return view.json({"job_id": job_id, "open": False, "closed": reason, "items": []})
        candidates = await seekers_near_job(redis, rules.model, state.job)
        best = best_seekers(job_id, state.job, candidates, now_ms, rules.model, rules.weights)
        who = {seeker.seeker_id: seeker for seeker in candidates}
        items = [{**_match(m), **_masked(who[m.seeker_id], now_ms)} for m in best[:limit]]
        return view.json({"job_id": job_id, "open": True, "items": items, "total": len(best)})

    app.page(SEEKER_MATCHES_PATH)(seeker_matches)
    app.page(JOB_CANDIDATES_PATH)(job_candidates)


def _match(found: Match) -> dict[str, Any]:
    return {
        "job_id": found.job_id,
        "seeker_id": found.seeker_id,
        "score": found.score,
        "travel_minutes": found.travel_minutes,
        "reasons": found.reasons,
    }


def _masked(seeker: SeekerNow, now_ms: int) -> dict[str, Any]:
    profile = seeker.profile
    return {
        "name": mask_name(profile.name) if profile.name else None,
        "phone": mask_phone(profile.phone) if profile.phone else None,
        "checked_in": checked_in_at(seeker, now_ms) is not None,
    }
