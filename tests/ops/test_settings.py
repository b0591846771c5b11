"""Settings: the travel model is built from GIGSTREAM_* variables, with EVENTS.md's defaults."""

import pytest

from ops.settings import Settings
from processors.travel import TravelModel


def test_the_default_travel_model_is_the_contracts() -> None:
    assert Settings().travel_model() == TravelModel()


def test_the_travel_model_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGSTREAM_DETOUR_FACTOR", "1.5")
    monkeypatch.setenv("GIGSTREAM_EBIKE_KMH", "20")
    monkeypatch.setenv("GIGSTREAM_CIRCLE_MINUTES", "10")
    model = Settings().travel_model()
    assert (model.detour_factor, model.circle_minutes) == (1.5, 10.0)
    assert dict(model.speeds) == {"walk": 4.5, "bike": 12, "ebike": 20, "transit": 15, "car": 25}


def test_a_speed_of_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGSTREAM_CAR_KMH", "0")
    with pytest.raises(ValueError, match="car_kmh"):
        Settings()
