"""Shared fixtures: tiny scenarios that run in a second or two."""

from __future__ import annotations

import pytest
from hypothesis import settings

import northroute as nr

# property tests draw the same examples on every machine and keep no example database in the repository
settings.register_profile("northroute", derandomize=True, database=None)
settings.load_profile("northroute")

TINY = ["population.scale=0.01", "time.years=0.5", "time.burn_in_weeks=4"]
NO_KIN = ("relations.community_share=0", "relations.community_upper_start=0")  # nobody in the kin community


@pytest.fixture(scope="session")
def tiny_results() -> nr.Results:
    return nr.run(nr.load_scenario("baseline-2012", TINY), seed=3)


def tiny(*extra: str) -> nr.Scenario:
    return nr.load_scenario("baseline-2012", [*TINY, *extra])
