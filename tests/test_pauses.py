"""The pause model behind keep-alive and TTL decisions: a prior that gives way to the user."""

import pytest

from app.caching.pauses import MAX_OBSERVED, PauseModel


def test_the_prior_expects_a_quarter_of_pauses_past_five_minutes():
    model = PauseModel()
    assert model.survival(300) == pytest.approx(2.2 / 9.5)
    assert model.survival(3600) == pytest.approx(0.4 / 9.5)
    assert 0.15 < model.chance_between(270, 3600) < 0.2


def test_a_quick_user_makes_a_long_pause_unlikely_and_a_slow_reader_likely():
    quick = PauseModel([20.0, 35.0, 50.0] * 30)
    slow = PauseModel([600.0, 900.0, 1200.0] * 30)
    assert quick.chance_between(270, 3600) < 0.03 < 0.7 < slow.chance_between(270, 3600)
    # Ten minutes away: the quick user is probably gone, the slow reader is due back.
    assert quick.return_chance(600, 300) < 0.05  # a ping needs 0.087 on Sonnet 4.6
    assert slow.return_chance(600, 600) > 0.5


def test_pauses_past_six_hours_are_new_sessions_and_memory_stays_bounded():
    model = PauseModel([7 * 3600.0, -5.0, 0.0])
    assert model.observed == 0
    model.learn_all(float(i % 500 + 1) for i in range(10 * MAX_OBSERVED))
    assert model.observed == MAX_OBSERVED
    assert 0.0 <= model.return_chance(10**6, 300) <= 1.0
