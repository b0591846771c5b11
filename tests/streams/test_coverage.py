"""The circle's gauges: city-wide and per district, and a district gone is no longer exported."""

from prometheus_client import REGISTRY

from processors.circle import Share, Shares
from streams.coverage import export


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_gauges_follow_the_shares_and_drop_districts_no_longer_there() -> None:
    first = Shares(
        Share(10, 6, 5, 4), {"京口区": Share(3, 2, 1, 1)}, {"88309a": Share(10, 6, 5, 4)}
    )
    exported = export(first, set())
    assert exported == {"京口区"}
    assert sample("gigstream_circle_seekers") == 10
    covered = "gigstream_circle_covered_seekers"
    assert [sample(covered, **{"for": f}) for f in ("work", "place", "both")] == [6, 5, 4]
    district = {"district": "京口区"}
    assert sample("gigstream_circle_district_seekers", **district) == 3
    assert sample("gigstream_circle_district_covered_seekers", **district, **{"for": "both"}) == 1

    assert export(Shares(Share(7, 0, 0, 0), {}, {}), exported) == set()
    assert sample("gigstream_circle_seekers") == 7
    assert sample("gigstream_circle_district_seekers", **district) is None
    assert (
        sample("gigstream_circle_district_covered_seekers", **district, **{"for": "work"}) is None
    )
