"""Mechanisms do what their rules say; each test fails if its mechanism stops working."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import northroute as nr
from northroute.processes import kernels, prices, supply, users
from northroute.processes.matching import fill_slots, random_member, top_k_per_group
from northroute.processes.prices import truck_search_chance
from northroute.processes.trade import ration
from northroute.sim import advance, build_world
from northroute.validation.facts import (
    NORTHERN_EXITS,
    frame,
    sf33_cars_over_trucks,
    sf33_truck_search,
    sf41,
    sf43,
)
from northroute.world.geography import load_geography, read_table
from northroute.world.people import HEROIN, RETAIL, TRAFFICKER, USER, WHOLESALE
from northroute.world.shipments import COVER_NAMES
from northroute.world.state import EVENT_KINDS, EventLog
from tests.conftest import tiny


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.floats(0, 100)), min_size=1, max_size=40),
       st.lists(st.floats(0, 150), min_size=5, max_size=5))
def test_ration_shares_in_proportion_and_never_oversells(requests, available):
    group = np.array([g for g, _ in requests])
    want = np.array([w for _, w in requests])
    avail = np.array(available)
    got, taken = ration(group, want, avail)
    assert np.all(got <= want + 1e-9)
    assert np.all(taken <= avail + 1e-9)
    demand = np.bincount(group, want, 5)
    for g in range(5):
        rows = group == g
        if demand[g] <= avail[g]:
            assert np.allclose(got[rows], want[rows])
        elif demand[g] > 0:
            assert np.allclose(got[rows], want[rows] * avail[g] / demand[g])


def test_matching_kernels_respect_keys():
    rng = np.random.default_rng(0)
    cand = np.arange(100, 110)
    keys = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2, 2])
    picks = random_member(rng, np.array([0, 1, 2, 3]), cand, keys, 4)
    assert picks[3] == -1
    assert keys[picks[:3] - 100].tolist() == [0, 1, 2]
    owners = fill_slots(rng, np.array([1, 1, 1, 1]), cand, keys, 4)
    assert sorted(owners[owners >= 0].tolist()) == [102, 103, 104] and (owners == -1).sum() == 1
    top = top_k_per_group(keys, np.arange(10.0), np.array([1, 0, 2]))
    assert sorted(top.tolist()) == [1, 8, 9]



def test_event_log_keeps_order_through_growth_and_hands_over_on_consume():
    log = EventLog()
    for week in range(3):
        log.add(week, "arrest", np.arange(3000) + 10_000 * week, 5, -1, 0.5, 2.0)  # 9,000 rows: past 4,096
    log.add(3, "release", 7, 1, 0, 0.0, 0.0)
    cols = log.columns()
    assert cols["person"].size == 9001 and len(log) == 9001  # a copy leaves the log as it was
    assert cols["week"].tolist() == [0] * 3000 + [1] * 3000 + [2] * 3000 + [3]
    assert np.array_equal(cols["person"][:9000], np.concatenate([np.arange(3000) + 10_000 * w for w in range(3)]))
    assert EVENT_KINDS[cols["kind"][-1]] == "release" and cols["place"][0] == 5 and cols["substance"][0] == -1
    assert (cols["role"] == -1).all() and (cols["cause"] == -1).all()  # not given: none
    assert {k: v.dtype for k, v in log.columns(consume=True).items()} == EventLog.COLUMNS
    assert len(log) == 0 and log.columns()["week"].size == 0


def test_event_log_broadcasts_scalars_and_one_element_arrays_and_skips_empty_events():
    log = EventLog()
    log.add(0, "arrest", np.array([4, 5, 6]), np.array([2]), np.int8(1), np.float32(0.5), 2.0, np.array(1))
    log.add(0, "arrest", np.zeros(0, int), 3, 1, 1.0, 1.0)  # nobody arrested: no event
    log.add(0, "release", np.array([[7, 8]]), -1, 0, 0.0, [3.0, 4.0])  # a list and a 2-D array, flattened
    cols = log.columns()
    assert cols["person"].tolist() == [4, 5, 6, 7, 8] and cols["place"].tolist() == [2, 2, 2, -1, -1]
    assert cols["role"].tolist() == [1, 1, 1, -1, -1] and cols["value"].tolist() == [2.0, 2.0, 2.0, 3.0, 4.0]
    with pytest.raises(ValueError):
        log.add(1, "arrest", np.arange(3), np.arange(2), 0, 0.0, 0.0)  # lengths that do not broadcast


def _weeks(scen, seed=1, weeks=20):
    world = build_world(scen, seed)
    for _ in range(weeks):
        advance(world)
        world.t += 1
    return world


def test_more_searches_seize_more():
    """Summed over three seeds: at this scale a single seed may see no seizure at all with few searches. The
    staging posts' searches are switched off, so all seizures in transit are the crossings'."""
    def seized(multiplier):
        scen = tiny(f"trafficking.inspection_multiplier={multiplier}", "trafficking.staging_search_rate=0")
        return sum(_weeks(scen, seed=s, weeks=30).ledger.seized_bulk for s in (1, 2, 3))
    loose, tight = seized(0.05), seized(2.0)
    assert tight > 3 * loose > 0


def test_export_value_ratio_averages_each_routes_regions_as_a_loop_over_routes_would():
    """The ratio is computed for all routes at once, grouped by their number of regions; it must equal, to
    the bit, the mean over each route's regions taken one route and drug at a time (the seeds' runs depend
    on it through the export draws)."""
    world = _weeks(tiny(), weeks=30)
    geo, surv, ru = world.geo, prices.route_survival(world), prices.russia_price_per_g(world)
    target = world.price_wholesale * 1.1
    net = world.price_wholesale - target * prices.risk_premium_share(world)
    ratio = prices.export_value_ratio(world, target=target)
    for r in range(len(geo.route_names)):
        k = geo.route_len[r]
        on = geo.kind[geo.route_nodes[r, :k]] == "region"
        for s in range(3):
            v_dom = np.mean(net[geo.route_nodes[r, :k][on], s] * surv[r, :k][on])
            assert ratio[r, s] == np.log(max(ru[s] * surv[r, k - 1], 1e-9) / max(v_dom, 1e-9))


def test_cutting_lowers_purity_down_the_chain():
    res = nr.run(tiny("market.adulteration=0.3"), seed=2)
    pur = res.series("purity", substance="heroin")
    pur = pur[pur["value"] > 0].groupby("level", observed=True)["value"].mean()
    assert pur["retail"] < pur["wholesale"] * 0.8
    res0 = nr.run(tiny("market.adulteration=0.0"), seed=2)
    pur0 = res0.series("purity", substance="heroin")
    pur0 = pur0[pur0["value"] > 0].groupby("level", observed=True)["value"].mean()
    assert abs(pur0["retail"] - pur0["wholesale"]) < 0.02


def test_regional_drug_cultures(tiny_results):
    users = tiny_results.series("users")
    users = users[users["week"] == 0].pivot_table(index="place", columns="substance", values="value",
                                                  observed=True)
    heroin_share = users["heroin"] / users.sum(axis=1)
    north, south = ["KUS", "SEV", "PAV", "AKM"], ["ZHA", "YUZ", "KZY"]
    assert heroin_share[north].mean() > heroin_share[south].mean()


def test_harvest_season_brings_the_wild_marijuana():
    res = nr.run(tiny("time.years=2", "population.scale=0.05", "supply.greenhouse_kg_per_year=0"), seed=4)
    sup = res.series("route_supply_g", substance="marijuana")
    month = sup.groupby(sup["date"].dt.month)["value"].sum()
    assert month[[8, 9, 10]].mean() > 3 * month[[1, 2, 3, 4, 5]].mean()


def test_higher_russian_price_sends_more_to_russia():
    """The export choice (prices.export_probability): a higher Russian price raises the chance that a new
    heroin lot is bound for Russia. Measured on the choice itself: in tiny runs the grams exported over the
    grams entering are near 1 whatever the price (unsold lots move on to Russia, and the warm start's lots
    leave during the run), so that ratio turned on a few purchases of one seed."""
    def chance(*sets):
        world = _weeks(tiny(*sets), seed=6, weeks=8)
        heroin = world.geo.route_carries[:, HEROIN]
        return float(world.export_prob[heroin, HEROIN].mean())
    assert chance("trafficking.heroin_russia_price=9000000") > chance() + 0.05


def test_new_heroin_lots_are_bound_for_russia_with_the_chosen_chance():
    """The choice reaches the lots: each new lot's `export` flag is drawn with its route's chance, so a dearer
    Russia sends more of them (the test above reads the chance only)."""
    def bound_for_russia(*sets: str) -> tuple[int, float, float]:
        world = build_world(tiny(*sets), 6)
        lots, before = world.lots, len(world.lots)
        for _ in range(4):
            supply.deliver(world, world.rngs["supply"])
        new = np.arange(before, len(lots))
        new = new[lots.substance[new] == HEROIN]
        return new.size, float(lots.export[new].mean()), float(world.export_prob[lots.route[new], HEROIN].mean())
    n, low, low_chance = bound_for_russia()
    _, high, high_chance = bound_for_russia("trafficking.heroin_russia_price=9000000")
    assert n > 50 and high > low + 0.05
    assert abs(low - low_chance) < 0.1 and abs(high - high_chance) < 0.1


def test_timeline_changes_a_parameter_from_its_date(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('extends = "baseline-2012"\n[[timeline]]\ndate = 2012-03-05\n'
                 'set = {"supply.heroin_kg_per_year" = 0, "supply.heroin_uzbek_share" = 0.5}\n')
    scen = nr.load_scenario(f, ["population.scale=0.01", "time.years=0.4", "time.burn_in_weeks=2"])
    res = nr.run(scen, seed=1)
    sup = res.series("route_supply_g", substance="heroin").groupby("week")["value"].sum()
    assert sup.loc[:8].sum() > 0
    assert sup.loc[10:].sum() == 0
    assert scen.supply.heroin_kg_per_year > 0  # the caller's scenario is not modified


def _retail_week(daily_dose: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One week of `kernels.retail_dealers` for a wholesaler (row 0), a dealer who works for him (row 1) and one
    without a supplier (row 2); each dealer sold 10 g for 1,000 KZT and needs 1 g a week."""
    from northroute.world.people import ACTIVE, LEADER, VORY

    n = 3
    role = np.array([WHOLESALE, RETAIL, RETAIL], np.int8)
    supplier = np.array([-1, 0, -1], np.int32)
    stock = np.array([0.0, 20.0, 20.0])
    cash, fill = np.zeros(n), np.ones(n, np.float32)
    dealers = np.array([1, 2])
    out = kernels.retail_dealers(
        dealers, supplier, np.full(n, ACTIVE, np.int8), role, np.zeros(n, np.uint8), np.zeros(n, np.int8),
        np.zeros(n, np.int32), np.array([0.0, 1.0, 1.0], np.float32), stock, stock * 0.5, cash,
        np.zeros(n, np.float32), fill, np.zeros(n, bool), np.zeros(n, np.float32), np.array([10.0, 10.0]),
        np.array([1000.0, 1000.0]), np.array([10.0, 10.0]), np.array([5.0, 5.0]), np.array([0, -1, -1], np.int64), 1,
        0.1, daily_dose, VORY, 0.0, 0.1, 0.5, 3, LEADER)
    return cash, fill, stock, out[6]


def test_retail_contract_dose_and_tenth():
    """DE11's contract (L964): "we will inject you every morning" and "for each 10 gr sold, you will get 1 gr for
    yourself": with the daily dose the dealer uses his need from the stock and keeps a tenth of the takings,
    passing the rest to his wholesaler; without it his tenth is all he gets, and he uses it. A dealer with no
    supplier keeps everything."""
    cash, fill, stock, to_wholesaler = _retail_week(daily_dose=True)
    assert cash[1] == pytest.approx(100.0) and to_wholesaler[0] == pytest.approx(900.0)
    assert fill[1] == pytest.approx(1.0) and stock[1] == pytest.approx(20.0 - 10.0 - 1.0)
    assert cash[2] == pytest.approx(1000.0)
    cash, fill, stock, to_wholesaler = _retail_week(daily_dose=False)
    assert cash[1] == pytest.approx(0.0) and to_wholesaler[0] == pytest.approx(1000.0)  # his tenth is used
    assert fill[1] == pytest.approx(1.0) and stock[1] == pytest.approx(9.0)


def test_greenhouse_switch():
    def greenhouse_lots(grams):
        res = nr.run(tiny(f"supply.greenhouse_kg_per_year={grams}", "supply.marijuana_kg_per_year=0"), seed=1)
        ev = res.events
        return int(((ev["kind"] == "supply") & (ev["substance"] == "marijuana")).sum())
    assert greenhouse_lots(0) == 0
    assert greenhouse_lots(50_000) > 0


def test_users_who_cannot_pay_are_recruited_first():
    """M31/M28: when wholesalers need retail dealers they pick users who cannot finance their habit. Dealing
    spells, which run first, hire the same users, so they are off here: the wholesalers' own choice is tested
    (the spells have their own test below)."""
    from northroute.processes import careers

    world = build_world(tiny("users.deal_start_rate=0"), 1)
    p = world.people
    rng = np.random.default_rng(0)
    users = p.rows(USER)
    p.fill[users] = rng.choice([0.0, 1.0], users.size)
    # the users left unmet are the ones who cannot pay: since the income cut after a first term, record holders
    # with a full week's fill could not finance it either, and dealing spells (M31) hire by income
    p.income[users] = np.where(p.fill[users] == 0.0, 0.0, 1e9)
    p.addiction[users] = 0.5
    dealers = p.rows(RETAIL)
    p.set_role(dealers[: dealers.size // 2], USER)
    p.fill[dealers[: dealers.size // 2]] = 1.0
    p.income[dealers[: dealers.size // 2]] = 1e9  # met and able to pay, as the users with a full fill
    before = p.role.copy()
    world.new_week()
    careers.step(world, rng)
    recruits = np.flatnonzero((before == USER) & (p.role == RETAIL))
    assert recruits.size > 20
    assert p.fill[recruits].mean() < 0.2


def test_users_who_cannot_finance_their_habit_start_dealing():
    """M31 (L690 [P32]): a user whose income does not cover his habit looks for dealing work and takes a
    slot with a wholesaler of his market who has room; one who can pay does not."""
    from northroute.processes import careers
    from northroute.processes.users import cannot_finance

    world = build_world(tiny("users.deal_start_rate=12"), 1)
    world.scenario.population.retail_per_wholesaler = 30  # room for every taker
    p = world.people
    users = p.rows(USER)
    poor = np.random.default_rng(0).random(users.size) < 0.5
    p.income[users] = np.where(poor, 0.0, 1e9)
    assert np.array_equal(cannot_finance(world, users), poor)
    careers._start_spells(world, np.random.default_rng(1))
    dealing = p.role[users] == RETAIL
    assert dealing[poor].mean() > 0.5  # a monthly chance of 1 - exp(-12/13) ~ 0.6, with room for all
    assert dealing[~poor].sum() == 0
    sup = p.supplier[users[dealing]]
    assert np.all(p.role[sup] == WHOLESALE) and np.all(p.market[sup] == p.market[users[dealing]])


def test_dealing_spells_end():
    """M31 spells end (by quitting back to use, arrest or promotion), so users pass through dealing."""
    from northroute.processes import careers

    world = build_world(tiny("users.deal_start_rate=12"), 1)
    p = world.people
    users = p.rows(USER)
    quit_some = p.rows(RETAIL)[::3]
    p.set_role(quit_some, USER)  # vacancies
    careers._start_spells(world, np.random.default_rng(1))
    spell = users[p.role[users] == RETAIL]
    assert spell.size > 20
    for _ in range(52):
        advance(world)
        world.t += 1
    ended = (p.role[spell] != RETAIL) | (p.status[spell] != 0)
    assert 0.1 < ended.mean() < 1.0
    back = spell[(p.role[spell] == USER) & (p.status[spell] == 0)]
    # users again, who have sold: at `users.dealer_quit_rate` 0.3 a year about a quarter quit within the year
    assert back.size >= 0.15 * spell.size and p.ever_sold[back].mean() > 0.5


def test_sf10_counts_only_careers_inside_the_run():
    """SF10's cohort: users who started after the first week and have used 2+ years; the users of the start
    (entered = 0) are left out, since their dealing before the run is unknown."""
    from northroute.record import LIFETIME_MIN_YEARS, Recorder
    from northroute.world.state import WEEKS_PER_YEAR

    world = build_world(tiny(), 1)
    p = world.people
    users = p.rows(USER)
    world.t = 300
    p.ever_sold[:] = False
    p.ever_sold[users[: users.size // 2]] = True  # users of the start who sold: not in the cohort
    old = users[users.size // 2:][:40]
    young = users[users.size // 2:][40:80]
    p.entered[old] = world.t - int(LIFETIME_MIN_YEARS * WEEKS_PER_YEAR) - 1
    p.entered[young] = world.t - 10
    p.ever_sold[old[:10]] = True
    p.ever_sold[young] = True  # too recent to count
    share = Recorder._measure_structure(world)[("ever_sold_share_career", "user")]
    n = np.bincount(p.substance[old], minlength=3)
    sold = np.bincount(p.substance[old[:10]], minlength=3)
    assert np.allclose(share, np.divide(sold, n, out=np.zeros(3), where=n > 0))


def test_role_weeks_is_the_mean_time_in_role_of_active_retail_dealers():
    """SF30's reading (b) (docs/open-decisions.md): the weeks since each active retail dealer took the role,
    averaged by drug; users and wholesalers do not count."""
    from northroute.record import Recorder

    world = build_world(tiny(), 1)
    p = world.people
    world.t = 200
    dealers = p.rows(RETAIL)
    p.since[dealers] = world.t - 10
    p.since[dealers[::2]] = world.t - 30
    p.since[p.rows(USER)] = 0
    p.since[p.rows(WHOLESALE)] = 0
    weeks = Recorder._measure_structure(world)[("role_weeks", "retail")]
    for s in range(3):
        mine = dealers[p.substance[dealers] == s]
        assert weeks[s] == pytest.approx(np.mean(world.t - p.since[mine]) if mine.size else 0.0)
    assert 10 < weeks[HEROIN] < 30


def test_role_index_cache_stays_true_through_a_run():
    world = _weeks(tiny(), weeks=9)
    p = world.people
    for role in range(4):
        assert np.array_equal(p.rows(role), np.flatnonzero((p.status == 0) & (p.role == role)))


def test_new_dealer_takes_his_circle_as_customers():
    """M30: recruits bring the users they used with, whichever way they are hired (a wholesaler's growth, a
    dealing spell, a prison mate's team: all go through `careers._take_on`)."""
    from northroute.processes import careers
    from northroute.world.state import N_SUBSTANCES

    world = _weeks(tiny(), weeks=4)
    p = world.people
    users = p.rows(USER)
    recruit = users[0]
    mates = users[(p.circle[users] == p.circle[recruit]) & (users != recruit)]
    boss = p.rows(WHOLESALE)[p.market[p.rows(WHOLESALE)] == p.market[recruit]][0]
    assert mates.size > 0 and not np.any(p.supplier[mates] == recruit)
    careers._take_on(world, np.array([recruit]), np.array([boss]), np.zeros(world.geo.n * N_SUBSTANCES))
    assert p.role[recruit] == RETAIL and p.supplier[recruit] == boss
    assert np.all(p.supplier[mates] == recruit)


def test_arrests_of_sellers_are_the_risk_prices_see():
    """7.6: the risk premium is measured from simulated arrests and sentences, by tier and drug."""
    from northroute.processes import justice, prices
    from northroute.world.people import HEROIN, WHOLESALE

    for role, tier in ((WHOLESALE, prices.KILO_TIER), (RETAIL, prices.RETAIL_TIER)):
        world = build_world(tiny("corruption.bribe_at_arrest=0", "relations.kin_substitution=0",  # no kin confess
                                 "justice.cooperation_rate=0"), 1)  # nobody names his supplier
        p = world.people
        sellers = p.rows(role)
        world.new_week()
        justice.arrest(world, np.random.default_rng(0), sellers[p.substance[sellers] == HEROIN][:5], "quota")
        prices.measure_seller_risk(world)
        assert world.arrest_hazard[tier, HEROIN] > 0 and world.prison_rate[tier, HEROIN] > 0
        assert world.prison_rate[1 - tier].sum() == 0 and world.prison_rate[:, 1:].sum() == 0


def test_domestic_arrest_risk_raises_prices_and_sends_heroin_abroad():
    """7.6 (Reuter & Kleiman): a higher prison risk for domestic sellers raises both price targets and,
    until prices repay it, lowers the domestic value of a lot, so more lots are sent to Russia."""
    from northroute.processes import prices
    from northroute.world.people import HEROIN

    world = build_world(tiny(), 1)
    world.t = world.burn_in + prices.REFERENCE_WEEKS  # past the reference window
    world.risk_reference[:] = [[[100.0] * 3] * 2, [[0.5] * 3] * 2]  # reference: ~0.26 prison-years a year
    ref = 0.5 / 100.0 * 52.1775
    world.prison_rate[:] = ref
    whole0, retail0 = prices.target_prices(world)
    assert np.allclose(prices.risk_factor(world), 1.0)
    world.price_wholesale = whole0.copy()
    export0 = prices.export_probability(world)

    world.prison_rate[:] = ref + 1.0  # one more prison-year per year of selling
    world.arrest_hazard[:] = 0.002
    whole1, retail1 = prices.target_prices(world)
    regions = world.geo.regions
    assert np.all(whole1[regions, HEROIN] > 1.2 * whole0[regions, HEROIN])
    markup0, markup1 = (r[regions, HEROIN] / w[regions, HEROIN] for r, w in ((retail0, whole0), (retail1, whole1)))
    # the retail tier's own risk adds to what it passes on: its margin grows by (1 + (M - 1) R) / M at least
    m = world.scenario.market.retail_markup
    own_risk = (1.0 + (m - 1.0) * prices.risk_factor(world)[prices.RETAIL_TIER, HEROIN]) / m
    assert own_risk > 1.3 and np.all(markup1 >= own_risk * markup0 * (1.0 - 1e-9))
    heroin_routes = world.geo.route_carries[:, HEROIN]
    export1 = prices.export_probability(world)
    assert np.all(export1[heroin_routes, HEROIN] > export0[heroin_routes, HEROIN] + 0.02)
    world.price_wholesale = whole1.copy()  # once prices have moved to the target, the premium repays the risk
    assert np.allclose(prices.export_probability(world), export0)


def test_mid_level_leaders_supply_runners():
    """L1962 [P22]: a share of retail dealers get their stock from a mid-level leader who gets his from a
    wholesaler; their grams take four hand-overs, so the grams-weighted chain is longer than three.
    Without leaders (share 0) every retail dealer is supplied by a wholesaler and the chain is three."""
    from northroute.world.people import LEADER, WHOLESALE

    world = _weeks(tiny("market.leader_share=0.5", "population.scale=0.05"), weeks=12)
    p = world.people
    rd = p.rows(RETAIL)
    lead = p.leader_of(rd)
    runners, leaders = rd[lead >= 0], np.unique(lead[lead >= 0])
    assert 0.2 * rd.size < runners.size <= 0.5 * rd.size  # at most the share; less where teams are small
    assert np.all((p.flags[leaders] & LEADER) != 0)
    sup = p.supplier[leaders]
    assert np.all(p.role[sup[sup >= 0]] == WHOLESALE)  # leaders buy from a wholesaler (or, orphaned, from no one)
    assert np.mean(sup >= 0) > 0.9
    assert p.leader_of(leaders).max() < 0  # no chain of leaders
    assert p.ever_sold[runners].mean() > 0.8  # runners get stock to sell ...
    assert (p.stock_g[runners] > 0).mean() > 0.8  # ... and still have it after their first stock ran out
    direct = p.supplier[rd[lead < 0]]
    team = np.bincount(direct[direct >= 0], minlength=len(p))[p.rows(WHOLESALE)]
    assert team.max() <= world.scenario.relations.contact_cap  # the wholesaler's direct contacts stay few
    h = world.week.handovers
    assert h[0].sum() / h[1].sum() > 3.1

    flat = _weeks(tiny("market.leader_share=0", "population.scale=0.05"), weeks=12)
    assert flat.people.leader_of(flat.people.rows(RETAIL)).max() < 0
    h = flat.week.handovers
    assert h[0].sum() / h[1].sum() < 3.0


def test_runner_testifies_against_his_leader():
    """A runner knows only his leader (L1962 [P22]: smaller dealers 'have access to him'), so his testimony
    puts the leader, not the wholesaler, in prison."""
    from northroute.processes import justice

    world = _weeks(tiny("market.leader_share=0.5", "justice.testimony_conviction=1.0",
                        "justice.cooperation_rate=0.0", "corruption.bribe_at_arrest=0.0"), weeks=4)
    p = world.people
    rd = p.rows(RETAIL)
    lead = p.leader_of(rd)
    runner = rd[lead >= 0][:1]
    leader = lead[lead >= 0][:1]
    boss = p.supplier[leader]
    justice._testify(world, np.random.default_rng(0), runner)
    assert p.status[leader[0]] != 0 and p.status[boss[0]] == 0


def test_riskier_routes_displace_heroin_arrivals():
    """M46: more searches at the crossings make a lot likelier to be seized, so less heroin is sent in (the
    staging posts' searches, which would damp the change, are off)."""
    def arrivals(multiplier, elasticity=1.0, weeks=12):
        scen = tiny(f"supply.route_elasticity={elasticity}", "trafficking.staging_search_rate=0")
        world = _weeks(scen, seed=2, weeks=5)  # burn-in is 4 weeks
        world.scenario.trafficking.inspection_multiplier = multiplier
        factor = supply.displacement(world)[supply.HEROIN_SOURCES.index("OSH")]
        grams = 0.0
        for _ in range(weeks):
            advance(world)
            world.t += 1
            grams += world.week.route_supply_g[:, HEROIN].sum()
        return factor, grams

    base, base_g = arrivals(0.1)
    tight, tight_g = arrivals(1.0)
    assert tight < 0.5 * base
    assert tight_g < 0.7 * base_g
    assert arrivals(1.0, elasticity=0.0)[0] == 1.0
    assert arrivals(1.0, elasticity=2.0)[0] < tight


def test_heroin_arrivals_fall_with_the_northern_route(monkeypatch):
    """7.1 rule 1: arrivals step down each January from 2013 to `northern_decline_until`, then hold; the
    burn-in (before 2012) keeps 2012's flow; a decline of 0 leaves the flow as it was."""
    f = supply.northern_factor
    assert f(2011, 0.178, 2016) == f(2012, 0.178, 2016) == 1.0
    assert f(2014, 0.178, 2016) == pytest.approx(0.822 ** 2)
    assert f(2019, 0.178, 2016) == f(2016, 0.178, 2016) == pytest.approx(0.822 ** 4)
    assert f(2019, 0.0, 2016) == 1.0
    asked: list[float] = []
    real = supply._lot_sizes
    monkeypatch.setattr(supply, "_lot_sizes", lambda rng, kg, median: asked.append(kg) or real(rng, kg, median))

    def heroin_kg(*sets: str) -> float:
        world = build_world(tiny("time.start=2016-01-04", *sets), 1)
        while world.date.year < 2016:
            world.t += 1
        asked.clear()
        supply.deliver(world, world.rngs["supply"])
        return sum(asked[: len(supply.HEROIN_SOURCES)])  # heroin is asked for first, one call per source

    assert heroin_kg() == pytest.approx(0.822 ** 4 * heroin_kg("supply.northern_decline=0"))


def test_truck_search_chance_is_inspections_over_truck_traffic(tiny_results):
    """SF33's first measure: inspections x multiplier x truck attention over trucks per day, weighted by each
    crossing's trucks (data/places.csv); corrupt customs officers who wave trucks through only lower it."""
    places = read_table("places.csv").dropna(subset=["trucks_per_day"])
    t = tiny().trafficking
    searches = places.inspections_per_day * t.inspection_multiplier * t.truck_attention
    by_hand = searches.sum() / places.trucks_per_day.sum()
    honest = frame(nr.run(tiny("corruption.customs_waive=0"), seed=3).timeseries)
    assert sf33_truck_search(honest) == pytest.approx(by_hand)
    assert 0 < sf33_truck_search(frame(tiny_results.timeseries)) < by_hand  # customs corruption (default)
    world = build_world(tiny(f"trafficking.inspection_multiplier={2 * t.inspection_multiplier}",
                             "corruption.customs_waive=0"), 3)
    assert truck_search_chance(world) == pytest.approx(2 * by_hand)


def test_staging_posts_search_the_lots_arriving_there():
    """Police operations at the Kazakh hubs (L1317 [P23], L1309 [DE7]) search a lot as it arrives, whatever its
    cover, and count in staging_seizures_g, not in the crossings' seizures_g or SF33's per-cover seizures; with
    no search at the crossings every seizure in transit is at a hub, and raising the rate raises the loss the
    traffickers expect on a route (M46)."""
    hubs = {"ALA", "KAR", "KUS", "YUZ"}
    world = build_world(tiny("trafficking.staging_search_rate=0.3", "trafficking.inspection_multiplier=0"), 1)
    p = prices.search_probability(world)
    is_hub = np.isin(world.geo.codes, sorted(hubs))
    assert (p[is_hub] == 0.3).all() and (p[~is_hub] == 0).all()
    res = nr.run(tiny("trafficking.staging_search_rate=0.3", "trafficking.inspection_multiplier=0"), seed=1)
    ts, ev = frame(res.timeseries), res.events
    seized_at = set(ev[ev.kind == "seizure"].place.astype(str))
    assert seized_at & hubs and seized_at <= hubs | {"CHU"}  # the Koknar raids take lots at the Chu Valley
    staged = ts[ts.metric == "staging_seizures_g"]
    assert staged.value.sum() > 0 and set(staged[staged.value > 0].place.astype(str)) <= hubs
    assert ts[ts.metric.isin(["seizures_g", *(f"seizures_{c}_g" for c in COVER_NAMES)])].value.sum() == 0
    loss = [supply.route_loss(build_world(tiny(f"trafficking.staging_search_rate={r}"), 1)) for r in (0.0, 0.1)]
    assert (loss[1] > loss[0]).all()


def test_border_cases_count_the_couriers_caught_at_crossings_only():
    """The couriers caught at a border crossing are registered in its region as drug crimes and counted apart as
    `border_cases` (the Border Service's and customs', SF24's reading (c) in docs/open-decisions.md); those
    caught at a staging post are police cases and are not."""
    def run(staging: float, inspection: float):
        return frame(nr.run(tiny(f"trafficking.staging_search_rate={staging}",
                                 f"trafficking.inspection_multiplier={inspection}"), seed=1).timeseries)

    def total(ts, metric: str) -> float:
        return ts[ts.metric == metric].value.sum()

    ts = run(0.0, 1.0)
    assert total(ts, "border_cases") > 0 and total(ts, "border_cases") == pytest.approx(total(ts, "courier_arrests"))
    regional = ts[ts.metric == "border_cases"].merge(
        ts[(ts.metric == "registered_crimes") & (ts.place != "KZ")], on=["week", "place", "substance"],
        suffixes=("_border", "_all"))
    assert len(regional) and (regional.value_border <= regional.value_all + 1e-9).all()
    ts = run(0.3, 0.0)
    assert total(ts, "courier_arrests") > 0 and total(ts, "border_cases") == 0


def test_attention_to_cars_moves_seizures_to_cars():
    """SF33's second measure (cars' seized share over carried share, over trucks') follows the attention
    parameters: above 1 when cars draw more searches, below when trucks do; same seeds, many searches."""
    def cars_over_trucks(car, truck, seed):
        scen = tiny("trafficking.inspection_multiplier=1", f"trafficking.car_attention={car}",
                    f"trafficking.truck_attention={truck}")
        return sf33_cars_over_trucks(frame(nr.run(scen, seed=seed).timeseries))
    for seed in (1, 2):
        assert cars_over_trucks(3.0, 0.5, seed) > 1.0 > cars_over_trucks(0.5, 3.0, seed)


def test_heroin_exits_are_counted_at_the_crossing_left_by():
    """SF41's measure: exports are recorded at the crossing before the Russian hub, route by route; the Uzbek
    heroin (UZ_SHYMKENT) leaves through Kairak, while the Osh routes include the CADAP east and west exits, so
    the northern share rises with the Uzbek share of supply."""
    geo = load_geography()
    routes = np.arange(len(geo.route_names))
    exit_post = geo.exit_posts
    assert (geo.kind[exit_post] == "crossing").all() and geo.is_russia[geo.route_nodes[routes, geo.route_len - 1]].all()
    places = read_table("places.csv")
    assert sorted(places[(places.kind == "crossing") & (places.zone == "north")].code) == sorted(NORTHERN_EXITS)

    def run(uzbek_share):
        return frame(nr.run(tiny(f"supply.heroin_uzbek_share={uzbek_share}"), seed=1).timeseries)
    ts = run(0.0)
    by_route = ts[ts.metric == "route_exports_g"].groupby("place", observed=True).value.sum()
    by_post = ts[ts.metric == "exits_g"].groupby("place", observed=True).value.sum()
    post_of = {geo.route_names[r]: geo.codes[exit_post[r]] for r in routes}
    expected = by_route.groupby(by_route.index.map(post_of)).sum()
    assert by_post[by_post > 0].to_dict() == pytest.approx(expected[expected > 0].to_dict())
    assert sf41(run(1.0)) > 0.9 > sf41(ts)  # all heroin from Uzbekistan (this once divided by a zero price)


def test_couriers_caught_entering_from_kyrgyzstan_or_uzbekistan_are_foreign():
    """SF43: a lot seized at an entry post is still in its foreign supplier's hands (L1090 [P5]); every
    other courier, at the exits to Russia, is Kazakh. So the foreign count is the seizures at the entry
    posts, all heroin (cannabis starts in the Kazakh Chu Valley), and SF43 is its share of smuggling
    charges. Many searches, so that both kinds of post see seizures (entry posts see few, large lots)."""
    geo = load_geography()
    kind = geo.kind[geo.route_nodes]
    on_route = np.arange(1, kind.shape[1]) < geo.route_len[:, None]
    entering = on_route & (kind[:, 1:] == "crossing") & (kind[:, :-1] == "foreign")
    entry_posts = {str(geo.codes[n]) for n in geo.route_nodes[:, 1:][entering]}
    assert entry_posts == {"KORDAI", "SYPATAI_BATYR", "ZHIBEK_ZHOLY"}
    for seed in (1, 2):
        # lots of national size: every seized lot's courier is charged (with lots that follow the scale, a
        # seized lot is that share of a courier: test_a_scaled_down_lot_is_a_share_of_a_courier)
        res = nr.run(tiny("trafficking.inspection_multiplier=10", "supply.lots_follow_scale=false"), seed=seed)
        ts, ev = frame(res.timeseries), res.events
        seized_at = ev[ev.kind == "seizure"].place.astype(str)
        foreign = ts[ts.metric == "foreign_courier_arrests"].groupby("substance").value.sum()
        assert foreign.sum() == seized_at.isin(entry_posts).sum() > 0 and foreign.drop("heroin").sum() == 0
        assert (~seized_at.isin(entry_posts)).any()
        charged = ts[(ts.metric == "arrests") & (ts.level == "trafficking") & (ts.world == "recorded")].value.sum()
        assert sf43(ts) == pytest.approx(foreign.sum() / charged) and sf43(ts) < 1.0


def test_a_scaled_down_lot_is_a_share_of_a_courier():
    """With lots that follow the scale (ODD 7.1 rule 4), as many lots move as nationally, each `scale` times
    the national size, so a seized lot's courier is charged with chance `scale`: couriers charged per seized
    gram stay about what lots of national size give, not 1/scale times it."""
    def per_kg(follow: bool) -> tuple[float, float]:
        counts, kg = 0.0, 0.0
        for seed in (1, 2, 3):
            ts = frame(nr.run(tiny("trafficking.inspection_multiplier=10",
                                   f"supply.lots_follow_scale={str(follow).lower()}"), seed=seed).timeseries)
            counts += ts[(ts.metric == "courier_arrests")].value.sum()
            kg += ts[(ts.metric == "seizures_total_g") & (ts.world == "recorded")].value.sum() / 1000
        return counts / kg, counts
    national_size, _ = per_kg(False)
    following, charged = per_kg(True)
    assert charged > 20 and 0.5 * national_size < following < 2.0 * national_size


def test_uzbek_interdiction_cuts_the_uzbek_heroin_routes_step_by_step() -> None:
    """S11 (L1279-1281): the built-in uzbek-interdiction scenario lowers the Uzbek share of heroin each January
    from 2014 and ends it in 2017, the heroin coming through Osh instead; the 2012-2013 runs are the baseline's."""
    # scale 0.05: at 0.02 a year's Uzbek share is a handful of lots (0.03-0.25 in 2012-2013 over seeds 1-3)
    scen = nr.load_scenario("uzbek-interdiction", ["population.scale=0.05", "time.years=6"])
    assert [e.set["supply.heroin_uzbek_share"] for e in scen.timeline] == [0.1125, 0.075, 0.0375, 0.0]
    geo = build_world(tiny(), 1).geo
    uzbek = {geo.route_names[r] for r in geo.routes_from("UZB", HEROIN)}
    ts = nr.run(scen, seed=1).timeseries
    sup = ts[(ts.metric == "route_supply_g") & (ts.substance == "heroin")]
    year = sup.date.dt.year
    share = {y: sup[(year == y) & sup.place.isin(uzbek)].value.sum() / sup[year == y].value.sum()
             for y in range(2012, 2018)}
    assert 0.05 < share[2013] < 0.3 and share[2016] < share[2013] and share[2017] == 0.0
    base = nr.run(nr.load_scenario("baseline-2012", ["population.scale=0.05", "time.years=2"]), seed=1).timeseries
    base = base[(base.metric == "route_supply_g") & (base.substance == "heroin")]
    assert base.value.sum() == sup[sup.date <= base.date.max()].value.sum()  # the same draws until the first step


def test_reform_upward_adds_quality_policing_and_witness_protection_at_the_switch() -> None:
    """The spec's "Reform + S5 + S6" run: anticorruption-2015 until the switch of January 2015, draw for draw;
    from then on arrested dealers cooperate and testify far more often (S6, L1942-1946 [P5]), and police judged
    by the quality of their cases (S5, `policing.quota_pressure` 0) frame nobody to meet a count."""
    runs = {name: nr.run(nr.load_scenario(name, ["population.scale=0.03", "time.years=5"]), seed=1).timeseries
            for name in ("anticorruption-2015", "reform-upward")}
    before = {k: ts[ts.date < "2015-01-05"].reset_index(drop=True) for k, ts in runs.items()}
    assert before["anticorruption-2015"].equals(before["reform-upward"])

    def after(name: str, metric: str) -> float:
        ts = runs[name]
        return ts[(ts.metric == metric) & (ts.date >= "2015-01-05")].value.sum()

    assert after("reform-upward", "cooperations") > 5 * max(after("anticorruption-2015", "cooperations"), 1.0)
    assert after("reform-upward", "testimony_arrests") > after("anticorruption-2015", "testimony_arrests")
    assert after("reform-upward", "framed_cases") == 0 < after("anticorruption-2015", "framed_cases")


def test_a_shortage_raises_quitting_but_not_starting() -> None:
    """After the reference year new users replace the quits of reference conditions (7.4 rule 4): a shortage
    that lowers addiction raises the users' quit factor, not the number who start."""
    world = build_world(tiny("time.years=1.5"), 1)
    first, end = prices.ref_window(world)
    while world.t < end:
        advance(world)
        world.t += 1
    p = world.people
    u = p.rows(USER)
    staying = np.bincount(p.market[u], minlength=world.start_factor_ref.size)
    before = users.start_weight(world, staying, np.zeros(staying.size), first, end)
    p.fill[u] = 0.0  # nobody got anything this week
    base = np.full(staying.size, 1e-9)  # nobody quits: the same users stay
    quit, quit_weight = kernels.user_week(u, p.market, p.income, p.cash, p.fill, p.addiction, 4.0, 0.5, base,
                                          np.ones(u.size))
    assert not quit.any() and quit_weight.sum() > before.sum() > 0  # addiction fell, the quit factor rose
    assert np.array_equal(users.start_weight(world, staying, quit_weight, first, end), before)


@pytest.mark.slow
def test_a_tenth_of_the_country_prices_and_fits_like_the_whole() -> None:
    """Studies, calibration and the facts search run at reduced scales on the premise that such a run is the
    national model in small. Until session 16 it was not: lots kept their national size, so at scale 0.1 the
    heroin retail price of 2012-2017 was 1.9 times the national one and calibration fitted that. Here runs at
    0.1 (anticorruption-2015, 6 years, seeds 0-2) must price heroin, on average, within a quarter of the national
    runs, leave about as much heroin need unmet and lie about as far from the recorded series (~2 min). One seed
    is not enough: at c18bd97 the ratio of prices was 1.19, 1.11 and 1.26 on seeds 0-2, and at session 37's end
    1.31, 1.24 and 1.03 (the mean about 1.19 both times), so a single seed crossed the band either way (until
    session 37 the test read seed 0 alone). Most of that 19% came in 2015 from rounding at small scales (all 16
    managers took clients; counts per market rounded up); since session 39 (docs/ODD.md, limitation 4) the
    ratios are 1.04, 1.07 and 0.93 (mean 1.01; 1.05 over seeds 0-5)."""
    from northroute.experiments.outputs import heroin_unmet_need, retail_price, thesis_distance

    def outputs(scale: float) -> tuple[float, float, float]:
        runs = [nr.run(nr.load_scenario("anticorruption-2015", [f"population.scale={scale}", "time.years=6"]),
                       seed=seed).timeseries for seed in (0, 1, 2)]
        return tuple(np.mean([f(ts, scale) for ts in runs])
                     for f in (retail_price("heroin"), heroin_unmet_need, thesis_distance))

    (price, unmet, fit), (price1, unmet1, fit1) = outputs(0.1), outputs(1.0)
    assert abs(np.log(price / price1)) < np.log(1.25), (price, price1)
    assert abs(unmet - unmet1) < 0.08 and abs(fit - fit1) < 0.1, (unmet, unmet1, fit, fit1)


def test_cover_shares_summing_above_one_are_rescaled_without_a_negative_share() -> None:
    """Truck, car and rail shares of 0.1, 0.5 and 0.7 rescale to a sum a rounding error above 1, which left the
    body share at -2e-16 and made every lot draw fail (found in session 32's review)."""
    world = build_world(tiny("trafficking.truck_share=0.1", "trafficking.car_share=0.5",
                             "trafficking.rail_share=0.7"), 1)
    shares = prices.cover_shares(world)
    assert shares.min() >= 0.0 and shares.sum() == pytest.approx(1.0)
    assert shares[:3] == pytest.approx(np.array([0.1, 0.5, 0.7]) / 1.3)
    supply.deliver(world, world.rngs["supply"])
    assert len(world.lots) > 0


def test_with_no_trafficker_of_a_drug_left_nobody_buys_it_at_the_source() -> None:
    """Enforcement can imprison every trafficker of a drug group when no wholesaler is left to take their places
    (ODD 7.5); the week's supply of that group is then not bought, instead of a crash."""
    world = build_world(tiny(), 1)
    p = world.people
    heroin = p.rows(TRAFFICKER)[p.substance[p.rows(TRAFFICKER)] == HEROIN]
    assert heroin.size > 0
    p.set_role(heroin, WHOLESALE)
    before = len(world.lots)
    supply.deliver(world, world.rngs["supply"])
    new = world.lots.substance[before:len(world.lots)]
    assert new.size > 0 and not (new == HEROIN).any()


def test_the_lots_a_week_estimate_matches_the_lots_supply_creates() -> None:
    """`supply.lots_per_week`, which warns before a run that would make very many lots, is the supply rule's own
    count: a year of arrivals makes that many lots a week, with the defaults and with marijuana lots a tenth the size
    (the case that slows a run)."""
    for sets in ((), ("supply.marijuana_lot_kg=3",)):
        world = build_world(tiny(*sets), 2)
        before = len(world.lots)
        for _ in range(52):
            supply.deliver(world, world.rngs["supply"])
            world.t += 1
        made = (len(world.lots) - before) / 52
        assert made == pytest.approx(supply.lots_per_week(world.scenario.supply, world.scale), rel=0.05)
    assert supply.many_lots(tiny("supply.marijuana_lot_kg=0.1")) == []
    assert "lots a week enter the routes" in supply.many_lots(tiny("supply.marijuana_lot_kg=0.1",
                                                                 "supply.marijuana_kg_per_year=600000"))[0]
