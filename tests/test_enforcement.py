"""Policing, justice, corruption and the anti-corruption strategy: mechanism tests, and the stylised
facts SF1, SF6, SF12, SF13, SF27, SF29, SF34, SF35 (../shared/spec/thesis-mechanisms.md §3) over
three seeds at scale 0.05 (all facts, misses included, nationally: test_validation_national.py), scored by
the validation scorecard (northroute/validation/facts.py holds each fact's measure and band).
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import northroute as nr
from northroute.calibration.targets import distance, records_2012_2017, statistics
from northroute.cli import app
from northroute.experiments.outputs import records_distance, thesis_distance
from northroute.processes import anticorruption, corruption, justice, policing, prison
from northroute.record import MONTHLY
from northroute.results import Results
from northroute.sim import advance, build_world
from northroute.validation import FACTS, scorecard, scorecard_html, scorecard_json
from northroute.validation.facts import _sel, frame, total
from northroute.validation.scorecard import by_fact, crosses_band, observed, regional_prices, summary, tally
from northroute.world.officers import CUSTOMS, DISMISSED, HONEST, LINE, MANAGER, PROTECTOR, UBN
from northroute.world.people import ACTIVE, HEROIN, MARIJUANA, OUT, PRISON, RETAIL, USER, WHOLESALE
from northroute.world.state import REFORM_SWITCH, World
from northroute.world.ties import PRISON as PRISON_TIE
from tests.conftest import NO_KIN, tiny

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def runs() -> dict[str, list[pd.DataFrame]]:
    """The baseline 2012-2014 and the reform 2012-2017 at scale 0.05, three seeds each."""
    spec = {"baseline": ("baseline-2012", 3), "reform": ("anticorruption-2015", 6)}
    return {side: [nr.run(nr.load_scenario(name, ["population.scale=0.05", f"time.years={years}"]), seed=s).timeseries
                   for s in SEEDS] for side, (name, years) in spec.items()}


@pytest.fixture(scope="module")
def card(runs) -> pd.DataFrame:
    return scorecard(runs)


# ------------------------------------------------------------------------------------------ mechanisms


def _a_month_in(*sets: str, seed: int) -> World:
    """A world at scale 0.05 after five weeks: buying pools have formed and exposures spread."""
    world = build_world(tiny("population.scale=0.05", *sets), seed)
    for _ in range(5):
        advance(world)
        world.t += 1
    return world


def _target_weight(world: World, per_case: bool = True) -> np.ndarray:
    """Each person's weight in the police's pick of the month, by row (NaN for those not in it, which fails any
    comparison); divided by the chance his arrest makes a case (`justice.case_chance`, tested on its own below)
    unless `per_case` is False."""
    t = policing.weigh_targets(world)
    weight = np.full(len(world.people), np.nan)
    weight[t.rows] = np.diff(t.cum, prepend=0.0)
    if per_case:
        weight[t.rows] /= justice.case_chance(world, t.rows.astype(np.int64))
    return weight


def test_police_pick_the_exposed_and_protection_shields() -> None:
    """7.9: at full quota pressure a person's weight is his case's provability x (1 + exposure), times
    `policing.pool_visibility` for a pool's buyer and `corruption.shield` for a protected wholesaler (runners'
    boost off here, so every lone user weighs alike per unit of visibility)."""
    world = _a_month_in("corruption.runner_boost=1", seed=3)
    p, cfg = world.people, world.scenario
    weight = _target_weight(world)

    def per_visibility(rows: np.ndarray) -> np.ndarray:
        return weight[rows] / (1.0 + p.exposure[rows])

    users = p.rows(USER)
    lone = per_visibility(users[p.pool[users] < 0])
    pool_buyers = per_visibility(users[p.pool[users] == users])
    assert lone.size > 100 and pool_buyers.size > 10 and np.ptp(p.exposure[users]) > 0.5
    assert np.allclose(lone, lone[0]) and np.allclose(pool_buyers, cfg.policing.pool_visibility * lone[0])
    wh = p.rows(WHOLESALE)
    prot, free = per_visibility(wh[p.protector[wh] >= 0]), per_visibility(wh[p.protector[wh] < 0])
    assert prot.size and free.size
    assert np.allclose(prot, cfg.corruption.shield * free[0]) and np.allclose(free, free[0])


@pytest.mark.parametrize("ratio", [1.0, 30.0])
def test_a_protected_team_weighs_its_shield_times_the_team_ratio(ratio: float) -> None:
    """Decision 10: a protected wholesaler's retail dealers weigh `shield` x `team_shield_ratio` against an
    unprotected team's (1: shielded with him, the default; 30: three times an unprotected team, handed over)."""
    world = _a_month_in("corruption.runner_boost=1", f"corruption.team_shield_ratio={ratio}", seed=3)
    p, cfg = world.people, world.scenario
    weight = _target_weight(world)
    rd = p.rows(RETAIL)
    per_visibility = weight[rd] / (1.0 + p.exposure[rd])
    covered = policing.team_protected(p, rd)
    assert covered.sum() > 10 and (~covered).sum() > 10
    free = per_visibility[~covered]
    assert np.allclose(free, free[0])
    assert np.allclose(per_visibility[covered], cfg.corruption.shield * ratio * free[0])


def test_protection_reaches_a_team_only_through_active_people() -> None:
    """A protected wholesaler who left the market, or a runner's leader now in prison, no longer shields the team
    below (as `People.boss` reads it, 7.5: they are orphans until placed again), though the stale pointers remain;
    nor do their customers draw the runners' boost."""
    world = _a_month_in("corruption.shield=0.1", "corruption.runner_boost=3", seed=3)
    p = world.people
    rd = p.rows(RETAIL)
    covered = rd[policing.team_protected(p, rd)]
    free = rd[~policing.team_protected(p, rd)]
    runners = covered[np.isin(p.supplier[covered], rd)]
    direct = covered[~np.isin(covered, runners) & ~np.isin(covered, p.supplier[runners])]
    assert runners.size and direct.size > 1
    before = _target_weight(world) / (1.0 + p.exposure)
    base = before[free[0]]
    assert np.allclose(before[[runners[0], direct[0]]], 0.1 * base)
    customers = p.rows(USER)[p.supplier[p.rows(USER)] == direct[0]]
    p.status[p.supplier[runners[0]]] = PRISON  # the runner's leader is jailed
    p.status[p.supplier[direct[0]]] = OUT  # the direct dealer's wholesaler left the market
    after = _target_weight(world) / (1.0 + p.exposure)
    assert np.allclose(after[[runners[0], direct[0]]], base)
    if customers.size:  # their customers are no longer a protected team's, given up to the police
        assert np.allclose(after[customers] / before[customers], 1 / 3)


def test_without_quota_pressure_the_police_weigh_the_level_not_the_visibility() -> None:
    """7.9 with `policing.quota_pressure` 0 (judged by the quality of cases, S4): exposure no longer counts, and a
    person weighs his case's provability x `policing.level_value` to the power of his level (user 0, wholesaler
    2); at pressure 1 (the default) the visibility decides, as the test above checks."""
    world = _a_month_in("corruption.runner_boost=1", "policing.quota_pressure=0", seed=3)
    p, pol = world.people, world.scenario.policing
    weight = _target_weight(world)
    users, wh = p.rows(USER), p.rows(WHOLESALE)
    lone, free = weight[users[p.pool[users] < 0]], weight[wh[p.protector[wh] < 0]]
    assert np.ptp(p.exposure[users]) > 0.5 and np.allclose(lone, lone[0])
    level = policing.provable(world)[2] / policing.provable(world)[0] * pol.level_value ** 2
    assert level > 1.5 and np.allclose(free, lone[0] * level)


def test_arrest_sends_people_to_prison_and_prison_makes_ties() -> None:
    world = build_world(tiny("population.scale=0.05", "corruption.bribe_at_arrest=0"), 5)
    p, rng = world.people, world.rngs["policing"]
    rd = p.rows(RETAIL)[:20]
    customers = np.isin(p.supplier, rd) & (p.status == ACTIVE)
    justice.arrest(world, rng, rd, "quota")
    jailed = rd[p.status[rd] == PRISON]
    assert jailed.size >= 19  # conviction once charged is near-certain (SF35); an acquittal is rare
    assert (p.release[jailed] > world.t).all() and (p.stock_g[jailed] == 0).all()
    assert customers.any() and not np.isin(rd, p.rows(RETAIL)).any()

    def prison_mates() -> set[tuple[int, int]]:
        ties = world.ties
        mine = (ties.kind == PRISON_TIE) & (np.isin(ties.src, jailed) | np.isin(ties.dst, jailed))
        return set(zip(ties.src[mine].tolist(), ties.dst[mine].tolist(), strict=True))

    before = prison_mates()  # most dealers of the start have a record and prison ties already (5 item 9)
    for _ in range(8):
        advance(world)
        world.t += 1
    made = prison_mates() - before
    assert np.isin(jailed, [r for pair in made for r in pair]).mean() > 0.5



def test_an_arrest_bribe_is_a_share_of_cash_up_to_a_ceiling() -> None:
    """7.10 rule 2: a corrupt arresting officer drops the case for `arrest_bribe_share` of the person's cash, at
    most `arrest_bribe_max_kzt` (a trafficker's cash is unbounded; without the ceiling one bribe reached 393 M KZT)."""
    world = build_world(tiny("population.scale=0.05", "corruption.bribe_at_arrest=1", "relations.kin_substitution=0",
                             "corruption.arrest_bribe_max_kzt=1000000"), 5)
    p, rng = world.people, world.rngs["policing"]
    world.officers.mode[:] = PROTECTOR
    rd = p.rows(RETAIL)[:40]
    p.cash[rd] = np.where(np.arange(rd.size) % 2 == 0, 1e8, 1e5)
    before = p.cash[rd].copy()
    justice.arrest(world, rng, rd, "quota")
    free = p.status[rd] == ACTIVE  # bought off; those with no officer in their region were arrested
    assert free.sum() >= 30
    paid = before[free] - p.cash[rd][free]
    np.testing.assert_allclose(paid, np.minimum(0.5 * before[free], 1e6))
    assert (paid == 1e6).any() and (paid == 5e4).any()


def test_protection_payments_are_counted_by_the_payers_drug() -> None:
    """7.11: protected wholesalers pay `protection_share` of a month's takings; `protection_kzt` counts it by the
    wholesaler's drug, and `bribes_kzt` counts it with the bribes at arrest."""
    world = _a_month_in("corruption.protection_share=0.3", seed=4)
    p = world.people
    wh = p.rows(WHOLESALE)
    world.officers.mode[:] = PROTECTOR
    p.protector[wh] = np.arange(wh.size) % len(world.officers)
    p.cash[wh] = 1e9
    world.new_week()
    corruption.pay_protection(world)
    paid = 1e9 - p.cash[wh]
    assert (paid > 0).sum() > wh.size // 2
    by_drug = np.bincount(p.substance[wh], paid, minlength=3)[:3]
    counted = world.week.counts[("protection_kzt", "wholesale", "true")]
    np.testing.assert_allclose(counted[:3], by_drug)
    np.testing.assert_allclose(world.week.counts[("bribes_kzt", "police", "true")].sum(), paid.sum())
    assert (by_drug[[HEROIN, MARIJUANA]] > 0).all()


@pytest.mark.parametrize("scale", [0.05, 0.25])
def test_a_reduced_run_has_its_share_of_protecting_managers(scale: float) -> None:
    """A run at scale s keeps all 16 regional managers, so only about s of them may take wholesalers as clients
    (`corruption.takes_clients`); line officers always may, and in a national run every manager may."""
    world = build_world(tiny(f"population.scale={scale}"), 1)
    off = world.officers
    rows = np.arange(len(off))
    may = corruption.takes_clients(world, rows)
    manager = off.rank == MANAGER
    assert may[~manager].all()
    assert abs(may[manager].sum() - scale * manager.sum()) <= 1
    p = world.people
    protectors = p.protector[p.rows(WHOLESALE)]
    assert may[protectors[protectors >= 0]].all()
    other = build_world(tiny(f"population.scale={scale}"), 2)  # another seed, other managers (same rows)
    assert (corruption.takes_clients(other, rows) != may).any()
    world.scenario.population.scale = 1.0
    assert corruption.takes_clients(world, rows).all()


def test_a_first_prison_term_costs_most_legal_income() -> None:
    """L980 [DE1]: released prisoners have "almost no legal opportunity to provide for themselves": after a
    first term a person keeps `prison.release_income_share` of his legal income; a second term cuts no more.
    Those who served before the run start with the cut income."""
    world = build_world(tiny("population.scale=0.05"), 5)
    p, share = world.people, world.scenario.prison.release_income_share
    users = p.rows(USER)
    record = p.convictions[users] > 0
    assert record.any() and 3.0 < np.median(p.income[users[~record]]) / np.median(p.income[users[record]]) < 5.5
    fresh = users[~record][:30]
    before = p.income[fresh].copy()
    for term in (1, 2):
        prison.admit(world, fresh, np.full(fresh.size, 1.0))
        p.release[fresh] = world.t  # serve at once; prison.step releases every PRISON_STEP_WEEKS
        assert world.t % prison.PRISON_STEP_WEEKS == 0
        prison.step(world, world.rngs["prison"])
        assert (p.status[fresh] == ACTIVE).all() and (p.convictions[fresh] == term).all()
        assert np.allclose(p.income[fresh], before * share, rtol=1e-6), term


@pytest.mark.slow
def test_users_record_shares_are_what_the_baseline_holds() -> None:
    """`prison.heroin_user_record_share` and `prison.cannabis_user_record_share` are documented as the shares the
    baseline holds among users (not dealers, who get `prison.prior_record_share`): the active users with a prison
    record end 2019 within a point of them (scale 0.2, seed 1, as they were derived). Session 15's income cut
    (0.39 held 0.364) fails here, so the parameters cannot go stale unseen (~10 s)."""
    scen = nr.load_scenario("baseline-2012", ["population.scale=0.2"])
    world = build_world(scen, 1)
    for _ in range(world.burn_in + scen.weeks):
        advance(world)
        world.t += 1
    p, pr = world.people, scen.prison
    using = (p.status == ACTIVE) & (p.role == USER)
    for heroin, share in ((True, pr.heroin_user_record_share), (False, pr.cannabis_user_record_share)):
        held = float(np.mean(p.convictions[using & ((p.substance == HEROIN) == heroin)] > 0))
        assert abs(held - share) <= 0.01, (heroin, held, share)

def test_officers_turn_honest_when_corruption_becomes_risky() -> None:
    lax = build_world(tiny("population.scale=0.05"), 2)
    strict = build_world(tiny("population.scale=0.05", "anticorruption.detect_rate=1.0",
                              "anticorruption.sentence_years=15"), 2)
    corrupt = lambda w: np.count_nonzero(w.officers.mode[w.officers.serving()] != HONEST)  # noqa: E731
    assert corrupt(lax) > 0.5 * len(lax.officers.serving())
    assert corrupt(strict) == 0
    off = lax.officers
    assert np.any((off.agency == UBN) & (off.mode == PROTECTOR))
    # the corrupt of the lax world, once corruption turns risky, leave it slowly: `QUIT_RATE` a month
    was = off.serving()[off.mode[off.serving()] != HONEST]
    lax.scenario.anticorruption.detect_rate, lax.scenario.anticorruption.sentence_years = 1.0, 15
    rng = np.random.default_rng(0)
    for _ in range(24):  # two years of monthly choices
        corruption.decide(lax, rng)
    left = np.mean(off.mode[was] != HONEST)
    assert was.size > 20 and abs(left - (1 - corruption.QUIT_RATE) ** 24) < 0.15


def test_corruption_is_regional() -> None:
    """SF26 (L621, Van Dijk et al. 2018): officers' moral cost is higher in the northern exit regions and lower in
    Almaty and South Kazakhstan, so fewer northern officers turn corrupt; at spread 0 it is one national rate."""
    def hired(spread: float) -> tuple[dict[str, float], dict[str, float]]:
        world = build_world(tiny("population.scale=0.05", f"corruption.regional_spread={spread}"), 2)
        off, n = world.officers, 3000
        first = len(off)
        places = {code: world.geo.index(code) for code in ("KUS", "KAR", "YUZ")}  # low, average, high
        for place in places.values():
            corruption.hire(world, world.rngs["policing"], np.full(n, UBN), np.full(n, LINE), np.full(n, place))
        corruption.decide(world, world.rngs["policing"], turn_rate=1.0)
        rows = {code: first + i * n + np.arange(n) for i, code in enumerate(places)}
        return ({c: float(off.norm[r].mean()) for c, r in rows.items()},
                {c: float(np.mean(off.mode[r] != HONEST)) for c, r in rows.items()})
    norm, corrupt = hired(1.0)  # expected moral costs 2x, 1x and 0.5x the national mean
    assert norm["KUS"] > 1.8 * norm["KAR"] > 1.8 * 1.8 * norm["YUZ"]
    assert corrupt["KUS"] < corrupt["KAR"] < corrupt["YUZ"]
    flat, _ = hired(0.0)
    assert max(flat.values()) < 1.1 * min(flat.values())


def test_protectors_who_stop_may_sacrifice_their_clients() -> None:
    """M52 (L1112 [O9]): a protector who stops protecting hands his clients over "to divert suspicion"; with
    `corruption.sacrifice` 0 they simply lose their protector."""
    def stop_protectors(share: float) -> tuple[int, int]:
        world = build_world(tiny("population.scale=0.05", f"corruption.sacrifice={share}",
                                 "corruption.bribe_at_arrest=0", "relations.kin_substitution=0"), 3)
        p, off = world.people, world.officers
        wh = p.rows(WHOLESALE)
        clients = wh[p.protector[wh] >= 0]
        off.mode[p.protector[clients]] = HONEST
        corruption.protection_deals(world, world.rngs["corruption"])
        return clients.size, int(np.count_nonzero(p.status[clients] == PRISON))
    n, jailed = stop_protectors(1.0)
    assert n > 10 and jailed >= 0.9 * n  # a few acquittals or kin confessions aside
    assert stop_protectors(0.0)[1] == 0


def _liable_world(liability: float, *extra: str):
    """A world under the 2014 regime (the AGDS's detection rate), with or without manager liability."""
    return build_world(tiny("population.scale=0.05", "anticorruption.detect_rate=0.15",
                            f"anticorruption.manager_liability={liability}", *extra), 4)


def _police_line(world) -> np.ndarray:
    off = world.officers
    rows = off.serving(rank=LINE)
    return rows[off.agency[rows] != CUSTOMS]


def test_liable_managers_deter_their_men() -> None:
    """SF28 (L1704): under an honest manager who answers for them, fewer line officers turn corrupt; the same
    draws otherwise, so the corrupt with liability are a strict subset of the corrupt without."""
    corrupt = []
    for liability in (0.0, 0.5):
        world = _liable_world(liability)
        rows = _police_line(world)
        corrupt.append(set(rows[world.officers.mode[rows] != HONEST].tolist()))
    assert corrupt[1] < corrupt[0]
    assert len(corrupt[1]) < 0.8 * len(corrupt[0])


def test_liable_managers_turn_honest_when_their_men_are_corrupt() -> None:
    """A liable manager counts the chance that one of his corrupt men costs him his post (L1704)."""
    turned = []
    for liability in (0.0, 0.5):
        world = _liable_world(liability)
        off = world.officers
        off.mode[_police_line(world)] = PROTECTOR
        managers = off.serving(rank=MANAGER)
        off.mode[managers] = HONEST
        assert (corruption.liability_stake(world) > 0).any() == (liability > 0)
        corruption.decide(world, np.random.default_rng(0), turn_rate=1.0)
        turned.append(np.count_nonzero(off.mode[managers] != HONEST))
    assert turned[0] > 0 and turned[1] < turned[0]


def test_liable_honest_managers_fire_corrupt_men() -> None:
    """An honest liable manager fires his corrupt men, a corrupt one does not: many dismissals (the outside
    agencies' detection at 1 a year, so about half the watched men go in a step; a larger force than the other
    tests'), all under honest managers."""
    world = _liable_world(1.0, "anticorruption.supervision=10", "anticorruption.detect_rate=1", "population.scale=0.2")
    off = world.officers
    line = _police_line(world)
    off.mode[line] = PROTECTOR
    managers = off.serving(rank=MANAGER)
    off.mode[managers] = np.where(np.arange(managers.size) % 2, PROTECTOR, HONEST)
    honest_boss = corruption.manager_is(world, honest=True)
    world.t = 4 * corruption.STEP_WEEKS
    world.new_week()
    anticorruption.step(world, np.random.default_rng(1))
    fired = line[off.status[line] == DISMISSED]
    assert fired.size > 10 and honest_boss[off.place[fired]].all()
    assert world.week.counts[("supervision_dismissals", "police", "true")][0] == fired.size


def test_softer_thresholds_shorten_sentences() -> None:
    world = build_world(tiny("population.scale=0.05"), 1)
    s = np.zeros(3, np.int8)
    grams = np.array([0.3, 2.0, 20.0])
    possession = np.full(3, justice.POSSESSION)
    assert justice.category(world, s, grams, possession).tolist() == [2, 3, 3]  # heroin: 0.3 g large, 2 g extra-large
    world.scenario.justice.threshold_factor = 10.0
    assert justice.category(world, s, grams, possession).tolist() == [2, 2, 3]  # 2 g is no longer extra-large


def test_the_heroin_and_possession_threshold_levers_soften_only_their_own_cases() -> None:
    """`heroin_threshold_factor` moves heroin holdings only; `possession_threshold_factor` moves possession
    charges only, so a dealer charged with sale keeps his category; `cannabis_possession_threshold_factor` moves
    marijuana and hashish possession only (S18); all multiply `threshold_factor`."""
    world = build_world(tiny("population.scale=0.05"), 1)
    j = world.scenario.justice
    drug = np.array([HEROIN, HEROIN, MARIJUANA, HEROIN], np.int8)
    grams = np.array([0.33, 20.0, 60.0, 20.0])
    charge = np.array([justice.POSSESSION, justice.POSSESSION, justice.POSSESSION, justice.SALE])
    assert justice.category(world, drug, grams, charge).tolist() == [2, 3, 2, 3]
    j.heroin_threshold_factor = 100.0  # heroin: large from 1 g, extra-large from 100 g
    assert justice.category(world, drug, grams, charge).tolist() == [1, 2, 2, 2]
    j.heroin_threshold_factor, j.possession_threshold_factor = 1.0, 100.0  # marijuana: large from 5 kg
    assert justice.category(world, drug, grams, charge).tolist() == [1, 2, 1, 3]
    j.possession_threshold_factor, j.threshold_factor, j.heroin_threshold_factor = 1.0, 10.0, 10.0  # heroin x100
    assert justice.category(world, drug, grams, charge).tolist() == [1, 2, 1, 2]
    j.threshold_factor, j.heroin_threshold_factor, j.cannabis_possession_threshold_factor = 1.0, 1.0, 1000.0
    assert justice.category(world, drug, grams, charge).tolist() == [2, 3, 0, 3]  # marijuana: small from 500 g
    assert justice.category(world, drug, grams, np.full(4, justice.SALE)).tolist() == [2, 3, 2, 3]  # sale: as it was


def test_police_weigh_a_target_by_the_chance_his_arrest_makes_a_case() -> None:
    """The quota counts criminal cases (L1616, L1624 [DE2]) and possession below the small threshold is none
    (L1786). With possession thresholds a hundred times Table 7.1 a cannabis user's unit is no crime: he weighs
    only his chance of being framed (`policing.framing_rate`), a heroin user (whose small amount starts above 0 g)
    his full weight; a retail dealer holding nothing weighs the chance his sale is documented."""
    world = _a_month_in("corruption.runner_boost=1", "justice.possession_threshold_factor=100", seed=3)
    p, pol = world.people, world.scenario.policing
    users = p.rows(USER)
    lone = users[p.pool[users] < 0]
    cannabis, heroin = lone[p.substance[lone] != HEROIN], lone[p.substance[lone] == HEROIN]
    per_visibility = _target_weight(world, per_case=False) / (1.0 + p.exposure)
    assert cannabis.size > 100 and heroin.size > 100
    assert np.allclose(per_visibility[heroin], per_visibility[heroin[0]])
    assert np.allclose(per_visibility[cannabis], pol.framing_rate * per_visibility[heroin[0]])
    rd = p.rows(RETAIL)
    p.stock_g[rd[:5]] = 0.0
    chance = justice.case_chance(world, rd)
    holding = (p.stock_g[rd] > 0) & (p.substance[rd] == HEROIN)  # any heroin is a crime to hold
    assert holding.sum() > 10 and (chance[holding] == 1.0).all() and np.allclose(chance[:5], pol.sale_documented)
    world.scenario.justice.possession_threshold_factor = 1.0  # Table 7.1: every user's unit is a crime to hold
    assert (justice.case_chance(world, lone) == 1.0).all()


def test_a_person_holding_no_crime_is_let_go_without_a_case() -> None:
    """An arrest whose charge comes out as possession below the small threshold is no case (L1786): the person
    keeps his role and is neither arrested, registered nor convicted in either world; he is counted as released."""
    world = _a_month_in("justice.possession_threshold_factor=100", "policing.framing_rate=0",
                        "corruption.bribe_at_arrest=0", seed=3)
    p = world.people
    users = p.rows(USER)
    lone = users[(p.pool[users] < 0)]
    cannabis, heroin = lone[p.substance[lone] != HEROIN][:30], lone[p.substance[lone] == HEROIN][:30]
    keys = (("released_no_case", "user", "true"), ("arrests", "user", "true"), ("arrests", "user", "recorded"),
            ("registered_crimes", "police", "recorded"), ("convictions", "user", "recorded"))

    def counted() -> np.ndarray:
        return np.array([world.week.counts.get(k, np.zeros(1)).sum() for k in keys])

    def by_drug(key: tuple[str, str, str]) -> np.ndarray:
        return world.week.counts.get(key, np.zeros(3)).copy()

    before, released, arrested = counted(), by_drug(keys[0]), by_drug(keys[1])
    justice.arrest(world, np.random.default_rng(0), np.concatenate([cannabis, heroin]), "quota")
    assert (counted() - before).tolist() == [30, 30, 30, 30, 30]
    # the cannabis users are the ones let go, the heroin users the ones arrested
    assert (by_drug(keys[0]) - released)[HEROIN] == 0 and (by_drug(keys[1]) - arrested)[HEROIN] == 30
    assert (p.status[cannabis] == ACTIVE).all()


def test_arrested_users_hold_at_least_a_retail_unit() -> None:
    """A user is charged on what he bought, a check, matchbox or shaiba (L1394, L1402, L1404): a cannabis
    user's day (0.25-0.4 g) alone would be below the small bound (0.5 g), which is no criminal case."""
    world = build_world(tiny("population.scale=0.05"), 1)
    users = world.people.rows(USER)
    charge, cat = justice.charges(world, np.random.default_rng(0), users)
    alone = charge == justice.POSSESSION
    assert alone.any() and (cat[alone] >= 1).all()
    cannabis = alone & (world.people.substance[users] > 0)
    assert cannabis.any() and (world.people.need_g[users[cannabis]] / 7.0 < 0.5).mean() > 0.5


def test_an_undocumented_sale_is_charged_as_possession() -> None:
    """M41b (L1912): a retail dealer or a pool's buyer whose sale the police do not document is charged with
    possession of what he holds; the share documented is `policing.sale_documented`. Wholesalers keep their
    charge (their provability is weighed when the police pick them)."""
    world = _a_month_in(seed=1)
    p = world.people
    pooled = p.rows(USER)[p.pool[p.rows(USER)] == p.rows(USER)]
    rows = np.concatenate([p.rows(RETAIL), pooled, p.rows(WHOLESALE)])
    assert pooled.size > 20 and p.rows(WHOLESALE).size > 0
    world.scenario.policing.framing_rate = 0.0
    share = {}
    for q in (1.0, 0.5, 0.0):
        world.scenario.policing.sale_documented = q
        charge, _ = justice.charges(world, np.random.default_rng(0), rows)
        street = p.role[rows] != WHOLESALE
        assert (charge[~street] == justice.ORGANISED).all()
        share[q] = (charge[street] != justice.POSSESSION).mean()
    assert share[1.0] == 1.0 and share[0.0] == 0.0 and 0.35 < share[0.5] < 0.65
    # what a dealer expects before a violent dispute (M45) is the mean of the two charges, weighted as the police
    # charge him; wholesalers' expectation does not depend on it
    expected = {}
    for q in (1.0, 0.5, 0.0):
        world.scenario.policing.sale_documented = q
        expected[q] = justice.expected_sentence(world, rows)
    retail = p.role[rows] == RETAIL
    assert (expected[1.0][~street] == expected[0.0][~street]).all()
    assert (expected[1.0][retail] > expected[0.0][retail]).all()
    assert np.allclose(expected[0.5], (expected[1.0] + expected[0.0]) / 2)


# ---------------------------------------------------------------------------------------- stylised facts
# The facts are the validation scorecard's (northroute/validation/facts.py: measure and band of each).

# SF25b, SF27b and SF29b are checked nationally (test_validation_national.py): at this scale the seeds decide
# them: triples of seeds among 1-12 give values on both sides of their bands' edges (SF29b and SF25b were checked
# so in sessions 10 and 11, ODD 7.13 rule 5), while nationally every seed of 0-5 lies in SF25b's and SF29b's bands.
# SF25 too since session 39: at small scales wholesalers outgrow their national share (ODD limitation 4), so the
# share of retail volume protected in 2012-2014 is 0.44 at 0.05 (seeds 1-9) against 0.60 nationally; until then
# the managers' excess protection at small scales offset that, and SF25 passed here through two artefacts.
# The facts below pass on seeds 1-3, 4-6 and 7-9 alike. SF12, SF13, SF34, SF34b and SF35 pass by construction (an input
# sets them): for them this checks that the input reaches the recorded series, not the model.
PASSING = ("SF1", "SF6", "SF12", "SF13", "SF27", "SF29", "SF34", "SF34b", "SF35")


def _row(card: pd.DataFrame, fact: str) -> pd.Series:
    return card[card["id"] == fact].iloc[0]


@pytest.mark.parametrize("fact", PASSING)
def test_stylised_fact_holds(card, fact) -> None:
    row = _row(card, fact)
    assert row["status"] == "pass", f"{fact}: observed {observed(row)}, band {row['band']}"


def test_recorded_and_true_worlds_differ(runs) -> None:
    """Pool buyers are recorded as organised (wholesale-level) distributors: the two worlds part."""
    ts = [frame(t) for t in runs["baseline"]]
    recorded = sum(total(t, "arrests", "wholesale", "recorded") for t in ts)
    assert recorded > 5 * sum(total(t, "arrests", "wholesale") for t in ts)


def test_sf27b_follows_the_deals_standing_at_the_switch(runs) -> None:
    """SF27b's cohort is the protection deals standing when the reform took effect: before the switch every
    standing deal belongs to it (the monthly count of protected wholesalers equals it), after it no deal joins,
    and only its deals are counted among those ended by arrest."""
    burn_in = nr.load_scenario("anticorruption-2015").time.burn_in_weeks
    switch = pd.Timestamp(REFORM_SWITCH)
    for ts in (frame(t) for t in runs["reform"]):
        cohort, protected = (_sel(ts, m, "wholesale").groupby(["date", "week"]).value.sum()
                             for m in ("switch_deals", "protected_dealers"))
        dates, weeks = cohort.index.get_level_values(0), cohort.index.get_level_values(1)
        measured = (dates < switch) & ((burn_in + weeks) % MONTHLY == 0)  # protected_dealers is measured monthly
        assert measured.sum() > 10 and np.array_equal(cohort[measured], protected[measured])
        assert (np.diff(cohort[dates >= switch - pd.Timedelta(weeks=1)].to_numpy()) <= 0).all()
        cohort = cohort.droplevel("week")
        ended = _sel(ts, "switch_deals_ended_by_arrest", "wholesale").groupby("date").value.sum()
        every = _sel(ts, "deals_ended_by_arrest", "wholesale").groupby("date").value.sum()
        assert (ended <= every).all() and ended[ended.index >= switch].sum() > 0
        assert ended[ended.index >= switch].sum() <= cohort[switch - pd.Timedelta(weeks=1)]


def test_validate_prints_the_scorecard_as_json(tmp_path) -> None:
    values = tmp_path / "calibrated.toml"  # as calibrate writes it: values only, extending the reform
    values.write_text('name = "x"\nextends = "anticorruption-2015"\n[market]\ntrafficker_markup = 1.7123456789012345\n'
                      '[policing]\nkoknar_share = 0.2\n')
    res = CliRunner().invoke(app, ["validate", "--scale", "0.01", "--years", "6", "--seeds", "1", "--json",
                                   "--quiet", "--values", str(values), "--set", "policing.koknar_share=0.25",
                                   "--out", str(tmp_path / "v")])
    assert res.exit_code == 0, res.output
    assert "warning: at scale 0.01 the verdicts of some facts differ from those at national scale" in res.stderr
    for side in ("baseline", "reform", "liability", "liability-off"):  # the file's values on every side, --set wins
        (run,) = (tmp_path / "v" / side / "runs").iterdir()
        scen = Results.load(run).manifest["scenario"]
        assert scen["market"]["trafficker_markup"] == 1.7123456789012345 and scen["policing"]["koknar_share"] == 0.25
    facts = json.loads(res.stdout.strip().splitlines()[-1])
    assert [f["id"] for f in facts] == [f.id for f in FACTS]
    assert {f["status"] for f in facts} <= {"pass", "miss"} and any(f["status"] == "pass" for f in facts)
    assert all(set(f) >= {"id", "status", "observed", "interval", "band"} for f in facts)
    page = (tmp_path / "v" / "scorecard.html").read_text()
    # beside the facts, the reform run's distance to the series calibrate fits (one seed: no interval)
    (reform,) = (tmp_path / "v" / "reform" / "runs").iterdir()
    fit = thesis_distance(Results.load(reform).timeseries, 0.01)
    assert np.isfinite(fit) and f"distance to thesis-2012-2017 {fit:.3f} (reform runs;" in page
    with_crimes = distance(statistics(Results.load(reform).timeseries, 0.01), records_2012_2017())
    assert f"to records-2012-2017 {with_crimes:.3f} with the enforcement on record" in page
    assert records_distance(Results.load(reform).timeseries, 0.01) == pytest.approx(with_crimes)  # the study output
    (baseline,) = (tmp_path / "v" / "baseline" / "runs").iterdir()  # and the baseline's regional prices of 2012
    assert html.escape(regional_prices([Results.load(baseline).timeseries])) in page
    assert "warning: at scale 0.01 the verdicts of some facts differ" in page  # on the page too
    sf28 = next(f for f in facts if f["id"] == "SF28")  # the liability pair ran and was compared seed by seed
    assert sf28["scenario"] == "liability" and sf28["observed"] is not None
    assert (tmp_path / "v" / "liability-off" / "runs").is_dir()
    bad = CliRunner().invoke(app, ["validate", "a", "b", "c"])
    assert bad.exit_code == 2


SPEC_FACTS = [f"SF{i}" for i in (1, 2, 3, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 19, 20, 23, 24, 25, 26, 27, 28, 29,
                                 30, 31, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43)]  # spec section 3, 36 facts


def test_scorecard_counts_facts_of_the_spec_list_as_a_whole() -> None:
    """Every fact of the shared list has a test; a fact with two tests passes only when both pass."""
    assert sorted({re.match(r"SF\d+", f.id).group() for f in FACTS}, key=lambda x: int(x[2:])) == SPEC_FACTS
    card = pd.DataFrame({"id": ["SF1", "SF3", "SF3b", "SF25", "SF25b"], "status": ["pass", "pass", "miss", "pass",
                                                                                 "pass"], "n": [3, 3, 3, 3, 3],
                         "construction": ["", "an input", "", "", "a rule"]})
    assert by_fact(card).to_dict() == {"SF1": True, "SF3": False, "SF25": True}
    assert "4 of 5 tests" in summary(card) and "2 of the 3 facts" in summary(card)
    assert "0 of them by construction" in summary(card)  # SF25b passes by a rule, but SF25 tests the model
    assert "and 0 only on a band's edge" in summary(card)  # no intervals, no edge


def test_a_fact_passed_on_a_band_edge_is_counted_as_such() -> None:
    """A passing fact with a test whose interval crosses its band's edge is counted apart; a missing fact with
    such a test is not (it is not among the passes)."""
    card = pd.DataFrame({"id": ["SF1", "SF3", "SF3b", "SF25", "SF25b"], "status": ["pass", "pass", "miss", "pass",
                                                                                 "pass"], "n": [3, 3, 3, 3, 3],
                         "construction": ["", "", "", "", ""], "edge": [False, False, True, False, True]})
    assert tally(card)["facts_edge"] == 1 and tally(card)["tests_edge"] == 2
    assert "2 of the 3 facts" in summary(card) and "and 1 only on a band's edge" in summary(card)
    assert "2 verdicts have a 90% interval" in summary(card)
    one = card.assign(n=1, edge=False)  # one seed: no intervals, so nothing is known about the edges
    assert summary(one).endswith("with one seed there are no intervals, so no verdict is known to be clear of its "
                                 "band's edge (run --seeds 2 or more)")


def test_a_verdict_whose_interval_crosses_the_band_is_flagged() -> None:
    assert crosses_band(0.85, 0.95, (0.7, 0.9)) and crosses_band(0.6, 0.75, (0.7, 0.9))
    assert not crosses_band(0.75, 0.85, (0.7, 0.9)) and not crosses_band(0.5, 0.6, (0.7, 0.9))
    assert not crosses_band(1.2, 3.0, (1.0, float("inf")))


def test_a_miss_shows_its_known_reason_and_a_pass_does_not() -> None:
    """The scorecard lists each known miss with its reason (ODD 1.2), and only when the fact misses."""
    from northroute.validation.facts import Fact

    ts = pd.DataFrame({"date": ["2012-01-02"], "place": ["KZ"], "substance": ["heroin"], "level": ["user"],
                       "metric": ["users"], "world": ["true"], "value": [1.0]})
    facts = [Fact(name, "claim", "L1", "metric", (0.0, 1.0), measure=lambda t, v=v: v, known_miss="a reason")
             for name, v in (("SFa", 0.5), ("SFb", 2.0))]
    card = scorecard({"baseline": [ts, ts]}, facts).set_index("id")
    assert "a reason" not in card.loc["SFa", "note"] and card.loc["SFa", "status"] == "pass"
    assert "known miss at the shipped defaults: a reason" in card.loc["SFb", "note"]
    assert {f.id for f in FACTS if f.known_miss} >= {"SF9", "SF10", "SF17", "SF41"}


def test_known_miss_reasons_quote_no_figures() -> None:
    """A known miss's reason sits beside the observed value and its interval, which a rerun updates; a figure in
    the reason does not update and went stale before (session 32: SF17, SF20 and SF43 quoted values of earlier
    sessions). Figures and their history belong in the ODD's 1.2 table."""
    quoted = {f.id: re.findall(r"(?<!ODD )\d+\.\d+|\d+ of \d+", f.known_miss) for f in FACTS}
    assert not {k: v for k, v in quoted.items() if v}


def test_sums_over_a_year_the_run_covers_in_part_have_no_value() -> None:
    """A run of 1.5 years records 2012 whole and 2013 in part: a count over 2013 is no count of 2013."""
    dates = pd.date_range("2012-01-02", periods=78, freq="7D")
    ts = frame(pd.DataFrame({"week": range(78), "date": dates, "place": "KZ", "substance": "heroin",
                             "level": "police", "metric": "corruption_convictions", "world": "true", "value": 1.0}))
    assert total(ts, "corruption_convictions", "police", years=(2012,)) == 53  # 2012 has 53 Mondays
    assert np.isnan(total(ts, "corruption_convictions", "police", years=(2012, 2013)))
    assert total(ts, "corruption_convictions", "police") == 78


def test_scorecard_shows_how_many_seeds_lie_in_the_band() -> None:
    """A mean in the band carried by one seed of three is a pass on paper; the card says so in numbers (CLI,
    JSON) and draws each seed against the band (HTML)."""
    from northroute.validation.facts import Fact
    from northroute.validation.scorecard import seeds_in_band

    runs = [pd.DataFrame({"date": ["2012-01-02"], "place": ["KZ"], "substance": ["heroin"], "level": ["user"],
                          "metric": ["users"], "world": ["true"], "value": [v]}) for v in (0.1, 0.2, 2.4)]
    fact = Fact("SFa", "claim", "L1", "metric", (0.5, 1.0), measure=lambda t: float(t["value"].iloc[0]))
    card = scorecard({"baseline": runs}, [fact])
    row = card.iloc[0]
    assert row["status"] == "pass" and row["in_band"] == 0 and seeds_in_band(row) == "0 of 3"  # mean 0.9
    assert scorecard_json(card)[0]["seeds_in_band"] == 0 and scorecard_json(card)[0]["values"] == [0.1, 0.2, 2.4]
    page = scorecard_html(card, "t", "m")
    assert page.count("<circle") == 3 and "0 of 3 in band" in page
    unmeasured = scorecard({"baseline": runs}, [Fact("SFb", "claim", "L1", "metric", (0.0, 1.0), reason="r")])
    assert seeds_in_band(unmeasured.iloc[0]) == "n/a" and "<svg" not in scorecard_html(unmeasured, "t", "m")


def test_scorecard_cuts_an_interval_to_what_the_measure_can_take() -> None:
    """A share measured near 0 over few seeds has a t-interval reaching below 0; the card cuts it at 0, and a
    cut interval that lies inside the band is not flagged as crossing the band's edge (SF6 was, at 0 to 0.1)."""
    from northroute.validation.facts import ANY, SHARE, Fact

    runs = [pd.DataFrame({"date": ["2012-01-02"], "place": ["KZ"], "substance": ["heroin"], "level": ["user"],
                          "metric": ["users"], "world": ["true"], "value": [v]}) for v in (0.0, 0.0, 0.003)]

    def fact(domain):
        return Fact("SFa", "claim", "L1", "metric", (0.0, 0.1), measure=lambda t: float(t["value"].iloc[0]),
                    domain=domain)
    share, free = (scorecard({"baseline": runs}, [fact(d)]).iloc[0] for d in (SHARE, ANY))
    assert free["lo"] < 0 and free["edge"]
    assert share["lo"] == 0.0 and share["hi"] == free["hi"] and not share["edge"]
    assert share["mean"] == free["mean"] and share["status"] == free["status"] == "pass"
    assert all(f.domain[0] <= f.band[0] and f.band[1] <= f.domain[1] for f in FACTS), "a band outside its domain"


def test_a_year_is_whole_with_all_its_weeks_but_one() -> None:
    """The facts read sums over whole years: a run a week short of a year (8 years are 417 weeks, 2012-2019 has
    418 Mondays) still records it, two weeks short it does not (any 50 weeks counted until session 16)."""
    from datetime import date

    from northroute.validation.facts import missing_years, years_needed

    assert missing_years(date(2012, 1, 2), 417) == [] and missing_years(date(2012, 1, 9), 417) == []
    assert missing_years(date(2012, 1, 16), 417) == [2012] and years_needed(date(2012, 1, 16)) is None
    assert missing_years(date(2012, 1, 2), 313) == [] and missing_years(date(2012, 1, 2), 311) == [2017]


def test_facts_fixed_by_an_input_are_marked() -> None:
    """A pass that an input or a fixed rule decides is labelled, so nobody reads it as a test of the model."""
    marked = {f.id for f in FACTS if f.construction}
    assert {"SF13", "SF26", "SF33", "SF33b", "SF35", "SF36", "SF41"} <= marked
    assert not marked & {"SF1", "SF17", "SF20", "SF28"}


def test_protectors_take_kin_clients_first() -> None:
    """L884 [P20], L890: kin never betray their protectors, so where protection is scarce they get it first;
    without `kin_clients_first` the order stays random."""
    def protected(first: bool) -> tuple[float, float]:
        world = build_world(tiny("population.scale=0.05", *NO_KIN,
                                 f"relations.kin_clients_first={str(first).lower()}",
                                 "corruption.clients_per_protector=1"), 2)
        p = world.people
        wh = p.rows(WHOLESALE)
        p.protector[wh] = -1
        kin = wh[::8]  # an eighth (a quarter until session 39, when managers at 0.05 stopped taking clients)
        p.kin[kin] = 0
        corruption.protection_deals(world, np.random.default_rng(5))
        others = np.setdiff1d(wh, kin)
        return np.mean(p.protector[kin] >= 0), np.mean(p.protector[others] >= 0)
    kin, others = protected(True)  # slots for about a sixth of the wholesalers (17 of 109): an eighth are kin
    assert kin > 0.6 and others < 0.2
    kin, others = protected(False)
    assert kin < 0.5 and others > 0.1
    world = build_world(tiny(*NO_KIN), 1)
    world.people.kin[[3, 9]] = 0
    assert corruption.clients_first(world, np.array([5, 3, 7, 9])).tolist() == [3, 9, 5, 7]  # kin first, stable
    world.scenario.relations.kin_clients_first = False
    assert corruption.clients_first(world, np.array([5, 3, 7, 9])).tolist() == [5, 3, 7, 9]


def test_scorecard_prints_open_band_edges_and_counts_construction_by_fact() -> None:
    """A band written as 1 + 1e-9 is '> 1' (exactly 1 misses), a fact is by construction only when every one of
    its tests is, and a seed without a value still counts among the seeds."""
    from northroute.validation.facts import INF, Fact
    from northroute.validation.scorecard import seeds_in_band

    runs = [pd.DataFrame({"date": ["2012-01-02"], "place": ["KZ"], "substance": ["heroin"], "level": ["user"],
                          "metric": ["users"], "world": ["true"], "value": [v]}) for v in (1.0, 1.0, np.nan)]
    value = lambda t: float(t["value"].iloc[0])  # noqa: E731
    facts = [Fact("SF1", "c", "L1", "m", (1.0 + 1e-9, INF), measure=value),
             Fact("SF2", "c", "L1", "m", (0.0, 1.0 - 1e-9), measure=value),
             Fact("SF3", "c", "L1", "m", (0.5, 2.0), measure=value, construction="a rule"),
             Fact("SF3b", "c", "L1", "m", (0.5, 2.0), measure=value),
             Fact("SF4", "c", "L1", "m", (0.5, 2.0), measure=value, construction="an input")]
    card = scorecard({"baseline": runs}, facts).set_index("id")
    assert card.loc["SF1", "band"] == "> 1" and card.loc["SF1", "status"] == "miss"
    assert card.loc["SF2", "band"] == "< 1" and card.loc["SF2", "status"] == "miss"
    assert card.loc["SF3", "band"] == "0.5 to 2" and seeds_in_band(card.loc["SF3"]) == "2 of 3"
    assert tally(card.reset_index()) == {"tests": 3, "tests_edge": 0, "facts": 2, "facts_built": 1, "facts_edge": 0,
                                         "n_facts": 4}


def test_extorting_patrol_officers_rob_users_of_their_region() -> None:
    """M51: each extorting patrol officer takes up to `corruption.extortion_kzt` from a few users of his region
    a step (`corruption.extortions_per_week`); what the users lose is what the officers gain, and honest patrols
    take nothing."""
    from northroute.world.officers import EXTORTIONIST, PATROL

    world = build_world(tiny("population.scale=0.05"), 2)
    p, off, c = world.people, world.officers, world.scenario.corruption
    patrol = off.serving(agency=PATROL)
    off.mode[patrol] = HONEST
    off.mode[patrol[::2]] = EXTORTIONIST
    p.cash[:] = 3.5 * c.extortion_kzt  # room for three robberies, and not a multiple of one
    illicit = off.illicit.copy()
    world.new_week()
    corruption.extort(world, np.random.default_rng(0))
    lost, gained = 3.5 * c.extortion_kzt - p.cash, off.illicit - illicit
    victims = np.flatnonzero(lost > 0)
    expected = c.extortions_per_week * corruption.STEP_WEEKS * patrol[::2].size
    assert 0.5 * expected < victims.size <= 1.5 * expected
    assert (p.role[victims] == USER).all() and np.allclose(lost[victims] / c.extortion_kzt % 1, 0)  # each robbery
    assert gained.sum() == pytest.approx(lost.sum()) and not gained[patrol[1::2]].any()
    regions = set(off.place[patrol[::2]].tolist())
    assert set(p.region[victims].tolist()) <= regions


def test_koknar_seizes_cannabis_lots_leaving_the_chu_valley_in_the_harvest() -> None:
    """M47: in the harvest months the Koknar operation seizes `policing.koknar_share` of the cannabis lots at the
    Chu Valley; lots elsewhere, heroin and the months outside the harvest are left alone."""
    from northroute.processes import supply
    from northroute.world.people import HEROIN

    def seized(share: float, in_season: bool) -> tuple[int, int, int]:
        """Lots seized, cannabis lots at the Chu Valley before, and after."""
        world = build_world(tiny("population.scale=0.05", f"policing.koknar_share={share}",
                                 "supply.harvest_months=1"), 1)
        world.scenario.supply.harvest_start_month = world.date.month if in_season else world.date.month % 12 + 1
        supply.deliver(world, world.rngs["supply"])  # this week's lots, at their sources

        def cannabis_at_chu() -> int:
            lots, geo = world.lots, world.geo
            return int(np.count_nonzero((geo.route_nodes[lots.route, lots.pos] == geo.index("CHU"))
                                        & (lots.substance != HEROIN)))

        before, n = cannabis_at_chu(), len(world.lots)
        policing.koknar(world, world.rngs["policing"])
        return n - len(world.lots), before, cannabis_at_chu()

    taken, before, after = seized(1.0, True)
    assert before > 5 and taken == before and after == 0  # all of them, and nothing else
    taken, before, after = seized(0.5, True)
    assert 0.2 * before < taken < 0.8 * before and taken + after == before
    assert seized(1.0, False)[0] == 0


def test_witness_protection_gives_every_cooperating_witness_a_plea_agreement() -> None:
    """7.10 item 9 (S6, L1960): a cooperating witness gets a procedural agreement, which multiplies his sentence
    by `justice.PLEA_FACTOR`, with chance 0.1, and always under witness protection (sentences without spread)."""
    from northroute.world.state import EVENT_KINDS

    def sentence_over_table(protection: bool) -> np.ndarray:
        sets = ["population.scale=0.05", "corruption.bribe_at_arrest=0", "relations.kin_substitution=0",
                "justice.protected_cooperation=1", "justice.cooperation_rate=1", "justice.sentence_spread=0",
                "justice.conviction_rate=1", "justice.testimony_conviction=0", "policing.sale_documented=1"]
        world = build_world(tiny(*sets, f"justice.witness_protection={str(protection).lower()}"), 1)
        rd = world.people.rows(RETAIL)[:40]
        charge, cat = justice.charges(world, np.random.default_rng(0), rd)
        table = justice.sentences()[charge, cat]
        world.t = world.burn_in  # events are logged from here
        world.new_week()
        world.events.columns(consume=True)
        justice.arrest(world, np.random.default_rng(0), rd, "quota")
        ev = world.events.columns()
        convicted = np.array([EVENT_KINDS[k] == "conviction" for k in ev["kind"]])
        years = dict(zip(ev["person"][convicted].tolist(), ev["value"][convicted].tolist(), strict=True))
        return np.array([years[r] / t for r, t in zip(rd.tolist(), table, strict=True) if r in years])

    protected, unprotected = sentence_over_table(True), sentence_over_table(False)
    assert protected.size > 30 and np.allclose(protected, justice.PLEA_FACTOR)
    assert 0.8 < np.mean(unprotected == 1.0) < 1.0 and np.allclose(unprotected[unprotected < 1], justice.PLEA_FACTOR)


def test_arrest_events_name_the_role_at_arrest_and_the_cause() -> None:
    """Each arrest event carries the person's role when arrested and what led to the arrest, so the events add up
    to the true arrests by role of the time series (a join with the yearly network snapshots cannot: people change
    role within a year, and users are not in them), and the handed-over and taken-down clients of the reform show."""
    from northroute.world.state import ARREST_CAUSES

    res = nr.run(nr.load_scenario("anticorruption-2015", ["population.scale=0.05", "time.years=4"]), seed=1)
    ev = res.events
    arrests = ev[ev["kind"] == "arrest"]
    ts = res.timeseries
    true = ts[(ts["metric"] == "arrests") & (ts["world"] == "true") & (ts["place"] == "KZ")]
    by_level = true.groupby("level", observed=True)["value"].sum()
    level = arrests["role"].astype(str).replace({"trafficker": "trafficking"}).value_counts()
    assert by_level.sum() > 100
    for name, n in by_level.items():
        assert level.get(str(name), 0) == n, name
    causes = set(arrests["cause"].astype(str))
    assert causes <= set(ARREST_CAUSES) and {"quota", "handed_over", "taken_down"} <= causes
    assert (ev.loc[ev["kind"].isin(["supply", "promote", "dismissal"]), "cause"] == "").all()
    bribes = ev[ev["kind"] == "bribe"]
    assert len(bribes) and (bribes["role"] != "").all() and (bribes["cause"] != "").all()


def test_network_snapshots_mark_protected_wholesalers_and_leaders() -> None:
    """The yearly snapshots say who is under protection and who leads runners, so protection can be traced in
    the network (not only as a national count)."""
    res = nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.05", "time.years=2"]), seed=3)
    nodes = res.network_nodes
    assert nodes["protected"].any() and set(nodes.loc[nodes["protected"], "role"].astype(str)) == {"wholesale"}
    assert nodes["leader"].any() and set(nodes.loc[nodes["leader"], "role"].astype(str)) == {"retail"}
    last = res.timeseries
    last = last[(last["metric"] == "protected_dealers") & (last["week"] == last["week"].max())]
    final = nodes[nodes["year"] == nodes["year"].max()]
    assert final["protected"].sum() == last["value"].sum()


def test_the_exported_network_ties_each_protector_to_his_clients() -> None:
    """The graph for Gephi: one `officer-ROW` node per protector, a `protection` edge to each client, and the
    trade edges as before, every edge key unique."""
    from northroute.network import graph

    res = nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.05", "time.years=1"]), seed=3)
    nodes, edges = res.network_nodes, res.network
    g = graph(nodes, edges, 2012)
    clients = nodes[(nodes["year"] == 2012) & nodes["protected"]]
    officers = {n for n, d in g.nodes(data=True) if d["role"] == "officer"}
    assert officers == {f"officer-{r}" for r in clients["protector"]} and len(officers) < len(clients)
    protection = [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "protection"]
    assert sorted(protection) == sorted((f"officer-{o}", int(p)) for o, p in zip(clients["protector"],
                                                                                    clients["person"], strict=True))
    assert g.number_of_edges() == (edges["year"] == 2012).sum() + len(clients)
    assert len({k for _, _, k in g.edges(keys=True)}) == g.number_of_edges()
    for year, snap in nodes.groupby("year"):  # every tie joins two people of the snapshot
        ties = edges[edges["year"] == year]
        assert ties["src"].isin(snap["person"]).all() and ties["dst"].isin(snap["person"]).all()
    from northroute.network import year_tables

    people, ties = year_tables(nodes, edges, 2012)
    assert people["people"].sum() == (nodes["year"] == 2012).sum() and people["protected"].sum() == len(clients)
    assert ties["ties"].sum() == g.number_of_edges()
    old = nodes.drop(columns=["protected", "leader", "protector"])  # snapshots of runs made before sessions 35-36
    people, ties = year_tables(old, edges, 2012)
    assert "protected" not in people and ties["ties"].sum() == (edges["year"] == 2012).sum()
    assert graph(old, edges, 2012).number_of_edges() == (edges["year"] == 2012).sum()
