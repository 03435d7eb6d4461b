"""Policing, justice, corruption and the anti-corruption strategy: mechanism tests, and the stylised
facts SF1, SF12, SF13, SF25, SF27, SF29, SF34, SF35 (../shared/spec/thesis-mechanisms.md §3) over
three seeds. Each band is the spec's test as written; where the spec gives only a direction or an
[interp] figure the band is stated in the test. Misses are strict xfails that say what the model gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import northroute as nr
from northroute.processes import justice, policing
from northroute.sim import advance, build_world
from northroute.world.officers import HONEST, PROTECTOR, UBN
from northroute.world.people import ACTIVE, PRISON, RETAIL, USER, WHOLESALE
from northroute.world.ties import PRISON as PRISON_TIE
from tests.conftest import tiny

SEEDS = (1, 2, 3)
LEVELS = ("user", "retail", "wholesale", "trafficking")
PRE, POST = (2012, 2013), (2015, 2016, 2017)  # anticorruption-2015 switches on 2015-01-05


def _frame(res: nr.Results) -> pd.DataFrame:
    ts = res.timeseries
    ts = ts.assign(year=pd.to_datetime(ts["date"]).dt.year)
    return ts.astype({c: str for c in ("place", "substance", "level", "metric", "world")})


@pytest.fixture(scope="module")
def baseline() -> list[pd.DataFrame]:
    return [_frame(nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.05", "time.years=3"]), seed=s))
            for s in SEEDS]


@pytest.fixture(scope="module")
def reform() -> list[pd.DataFrame]:
    return [_frame(nr.run(nr.load_scenario("anticorruption-2015", ["population.scale=0.05", "time.years=6"]),
                          seed=s)) for s in SEEDS]


def total(runs, metric, level, world="true", years=None) -> float:
    """Sum of a national weekly count over runs (and years)."""
    out = 0.0
    for ts in runs:
        d = ts[(ts.metric == metric) & (ts.level == level) & (ts.world == world) & (ts.place == "KZ")]
        out += (d if years is None else d[d.year.isin(years)]).value.sum()
    return out


def mean_state(runs, metric, level, years=None, national=True) -> float:
    """Mean over weeks of a state summed over drugs (and regions), averaged over runs."""
    vals = []
    for ts in runs:
        d = ts[(ts.metric == metric) & (ts.level == level) & ((ts.place == "KZ") == national)]
        d = d if years is None else d[d.year.isin(years)]
        vals.append(d.groupby("week").value.sum().mean())
    return float(np.mean(vals))


def run_years(runs) -> int:
    return runs[0].year.nunique()


# ------------------------------------------------------------------------------------------ mechanisms


def test_police_pick_the_exposed_and_protection_shields() -> None:
    world = build_world(tiny("population.scale=0.05"), 3)
    for _ in range(5):  # buying pools form in the first month
        advance(world)
        world.t += 1
    p = world.people
    t = policing.weigh_targets(world)
    w = np.diff(np.concatenate([[0.0], t.cum]))
    weight = dict(zip(t.rows.tolist(), w.tolist(), strict=True))
    users = p.rows(USER)
    lone = users[(p.pool[users] < 0)]
    pool_buyers = users[p.pool[users] == users]
    assert np.mean([weight[r] for r in pool_buyers]) > 2 * np.mean([weight[r] for r in lone])
    wh = p.rows(WHOLESALE)
    prot, free = wh[p.protector[wh] >= 0], wh[p.protector[wh] < 0]
    assert prot.size and free.size
    assert np.mean([weight[r] for r in prot]) < np.mean([weight[r] for r in free])


def test_arrest_sends_people_to_prison_and_prison_makes_ties() -> None:
    world = build_world(tiny("population.scale=0.05", "corruption.bribe_at_arrest=0"), 5)
    p, rng = world.people, world.rngs["policing"]
    rd = p.rows(RETAIL)[:20]
    customers = np.isin(p.supplier, rd) & (p.status == ACTIVE)
    justice.arrest(world, rng, rd)
    jailed = rd[p.status[rd] == PRISON]
    assert jailed.size >= 19  # conviction once charged is near-certain (SF35); an acquittal is rare
    assert (p.release[jailed] > world.t).all() and (p.stock_g[jailed] == 0).all()
    assert customers.any() and not np.isin(rd, p.rows(RETAIL)).any()
    for _ in range(8):
        advance(world)
        world.t += 1
    assert np.count_nonzero(world.ties.kind == PRISON_TIE) > 0


def test_officers_turn_honest_when_corruption_becomes_risky() -> None:
    lax = build_world(tiny("population.scale=0.05"), 2)
    strict = build_world(tiny("population.scale=0.05", "anticorruption.detect_rate=1.0",
                              "anticorruption.sentence_years=15"), 2)
    corrupt = lambda w: np.count_nonzero(w.officers.mode[w.officers.serving()] != HONEST)  # noqa: E731
    assert corrupt(lax) > 0.5 * len(lax.officers.serving())
    assert corrupt(strict) == 0
    off = lax.officers
    assert np.any((off.agency == UBN) & (off.mode == PROTECTOR))


def test_softer_thresholds_shorten_sentences() -> None:
    world = build_world(tiny("population.scale=0.05"), 1)
    s = np.zeros(3, np.int8)
    grams = np.array([0.3, 2.0, 20.0])
    assert justice.category(world, s, grams).tolist() == [2, 3, 3]  # heroin: 0.3 g large, 2 g extra-large
    world.scenario.justice.threshold_factor = 10.0
    assert justice.category(world, s, grams).tolist() == [2, 2, 3]  # 2 g is no longer extra-large


# ---------------------------------------------------------------------------------------- stylised facts


def test_sf1_arrests_concentrate_at_the_bottom(baseline) -> None:
    """SF1: users and retail dealers are >= 70-80% of arrests (taken: >= 0.8); retail > wholesale per agent.

    Not tested, reported: the spec's full ordering user >= retail > wholesale > trafficker. Users and retail
    dealers are arrested at the same rate per person (~2.7%/year over three seeds, retail a hair higher),
    and traffickers are too few at this scale to measure (one arrest in nine run-years)."""
    arrests = {lv: total(baseline, "arrests", lv) for lv in LEVELS}
    assert (arrests["user"] + arrests["retail"]) / sum(arrests.values()) >= 0.8
    retail = arrests["retail"] / mean_state(baseline, "dealers", "retail", national=False)
    wholesale = arrests["wholesale"] / mean_state(baseline, "dealers", "wholesale", national=False)
    assert retail > wholesale


def test_sf12_pooled_buyers_among_distribution_convictions(baseline) -> None:
    """SF12: the share of distribution convictions whose distributor was a pool's buyer is > 0."""
    share = total(baseline, "convictions_pooled", "user") / total(baseline, "convictions_dealers", "retail")
    assert share > 0.0


def test_sf13_formal_cooperation_is_almost_never_obtained(baseline) -> None:
    """SF13: formal flips per eligible arrest ~0.01 (taken: 0.002-0.03 over three seeds); convictions of
    wholesalers from testimony are rare (taken: under 5% of wholesale-level arrests plus testimonies)."""
    eligible = sum(total(baseline, "arrests", lv) for lv in ("retail", "wholesale", "trafficking"))
    eligible += total(baseline, "convictions_pooled", "user")
    flips = total(baseline, "cooperations", "retail") / eligible
    assert 0.002 <= flips <= 0.03
    assert total(baseline, "testimony_arrests", "wholesale") <= 0.05 * eligible


@pytest.mark.xfail(strict=True, reason="known miss: about 0.44 of retail volume is sold under protection in the "
                   "baseline (three seeds), just under the spec's >= 0.5; protection capacity is the assumption "
                   "corruption.clients_per_protector = 3")
def test_sf25_police_control_most_retail_volume(baseline) -> None:
    assert mean_state(baseline, "protected_share", "retail") / 3 >= 0.5


def test_sf25_unprotected_dealers_are_caught_sooner(baseline) -> None:
    """SF25: dealers without protection have a higher arrest hazard than protected ones."""
    protected = mean_state(baseline, "protected_dealers", "wholesale")
    all_wh = mean_state(baseline, "dealers", "wholesale", national=False)
    caught_protected = total(baseline, "arrests_protected", "wholesale")
    caught_free = total(baseline, "arrests", "wholesale") - caught_protected
    assert caught_free / (all_wh - protected) > caught_protected / protected


def test_sf27_corruption_convictions_step_up(reform) -> None:
    """SF27: corruption convictions per year rise after the switch."""
    pre = total(reform, "corruption_convictions", "police", years=PRE) / len(PRE)
    post = total(reform, "corruption_convictions", "police", years=POST) / len(POST)
    assert post > 2 * pre and post > 0


@pytest.mark.xfail(strict=True, reason="known miss: about 0.3, not a majority, of the protection deals "
                   "standing at the switch end in an arrest within three years; most protectors stop protecting "
                   "first (they re-weigh costs monthly, M56), many already in 2014 when the agency is created")
def test_sf27_most_corrupt_dyads_end_in_arrest(reform) -> None:
    """SF27: 'a large fraction' of the deals present before the switch end by arrest within ~3 years
    (taken: at least half)."""
    at_switch = np.mean([ts[(ts.metric == "protected_dealers") & (ts.date == pd.Timestamp("2015-01-05"))
                            & (ts.place == "KZ")].value.sum() for ts in reform])
    ended = total(reform, "deals_ended_by_arrest", "wholesale", years=POST) / len(reform)
    assert ended / at_switch >= 0.5


def test_sf29_protection_becomes_a_liability(reform) -> None:
    """SF29: after the switch protected wholesalers are arrested more often than unprotected ones (before,
    less often), their sentences exceed pre-reform sentences for wholesale and their officers' terms."""

    def hazards(years):
        protected = mean_state(reform, "protected_dealers", "wholesale", years)
        all_wh = mean_state(reform, "dealers", "wholesale", years, national=False)
        caught_p = total(reform, "arrests_protected", "wholesale", years=years)
        caught_free = total(reform, "arrests", "wholesale", years=years) - caught_p
        return caught_p / max(protected, 1e-9), caught_free / (all_wh - protected)

    pre_p, pre_free = hazards(PRE)
    post_p, post_free = hazards(POST)
    assert pre_p <= pre_free and post_p > post_free
    protected_sentence = (total(reform, "sentence_years_protected", "wholesale", years=POST)
                          / total(reform, "convictions_protected", "wholesale", years=POST))
    pre_sentence = (total(reform, "sentence_years", "wholesale", "recorded", years=PRE)
                    / total(reform, "convictions", "wholesale", "recorded", years=PRE))
    officer_sentence = (total(reform, "officer_sentence_years", "police", "recorded", years=POST)
                        / total(reform, "corruption_convictions", "police", years=POST))
    assert protected_sentence > pre_sentence and protected_sentence > officer_sentence


def test_sf34_recorded_crimes_exceed_dealers_prosecuted(baseline) -> None:
    """SF34: recorded drug crimes / distinct dealers prosecuted > 1 under quota pressure."""
    ratio = total(baseline, "registered_crimes", "police", "recorded") / total(
        baseline, "dealers_prosecuted", "police", "recorded")
    assert ratio > 1.0


@pytest.mark.xfail(strict=True, reason="known miss: the ratio is ~5.9, not ~3.1 (2,266 / 733 in 2017, L1908): "
                   "user possession cases, which the 2017 figure may not count, add to the numerator")
def test_sf34_ratio_near_the_2017_figure(baseline) -> None:
    """SF34 target ~3 (L1908; taken: 2-4)."""
    ratio = total(baseline, "registered_crimes", "police", "recorded") / total(
        baseline, "dealers_prosecuted", "police", "recorded")
    assert 2.0 <= ratio <= 4.0


def test_sf35_conviction_once_charged_is_near_certain(baseline) -> None:
    """SF35: P(conviction | charge) >= 0.99."""
    convicted = sum(total(baseline, "convictions", lv, "recorded") for lv in LEVELS)
    acquitted = total(baseline, "acquittals", "police", "recorded")
    assert convicted / (convicted + acquitted) >= 0.99


def test_recorded_and_true_worlds_differ(baseline) -> None:
    """Pool buyers are recorded as organised (wholesale-level) distributors: the two worlds part."""
    assert total(baseline, "arrests", "wholesale", "recorded") > 5 * total(baseline, "arrests", "wholesale")
