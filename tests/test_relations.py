"""Relational capital: the mechanisms fail these tests if they stop working, and the stylised facts
of the thesis (SF2, SF3, SF7, SF10) are checked over several seeds with the tolerances stated here."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

import northroute as nr
from northroute.processes import careers, justice, policing, relations, trade
from northroute.processes.prices import cutting
from northroute.record import Recorder
from northroute.sim import advance, build_world
from northroute.world.people import (
    ACTIVE,
    COMMUNITY,
    EXCLUDED,
    HEROIN,
    PRISON,
    RETAIL,
    TRAFFICKER,
    USER,
    VORY,
    WHOLESALE,
)
from northroute.world.ties import TRADE, Ties
from tests.conftest import NO_KIN, tiny

SEEDS = (1, 2, 3)
MEDIUM = ("population.scale=0.05", "time.years=3")


def _run_weeks(world, weeks: int):
    for _ in range(weeks):
        advance(world)
        world.t += 1
    return world


def _purchases_of_strangers(vouching: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lot grams each wholesaler buys in one week when he wants a lot: those with neither voucher nor reputation
    (strangers), those vouched for by an active trafficker, and those with years of clean trading."""
    world = build_world(tiny("population.scale=0.05", f"relations.vouching={str(vouching).lower()}"), 4)
    p = world.people
    wh = p.rows(WHOLESALE)
    p.voucher[wh], p.reputation[wh] = -1, 0.0
    vouched, reputed = wh[1::3], wh[2::3]
    p.voucher[vouched] = p.rows(TRAFFICKER)[0]
    p.reputation[reputed] = world.scenario.relations.reputation_years
    p.stock_g[wh], p.pure_g[wh] = 0.0, 0.0
    p.demand_ewma[wh] = 5_000.0
    p.cash[wh] = 1e12
    world.new_week()
    trade.wholesale_purchases(world, np.random.default_rng(0))
    bought = p.stock_g * (1 - cutting(world)[p.substance])  # their stock was emptied above
    return bought[wh[0::3]], bought[vouched], bought[reputed]


def test_vouching_keeps_strangers_off_kilograms():
    """M15/M19: without a voucher or years of reputation nobody sells a stranger a kilogram a week; a living
    voucher or the years lift the limit, and without the rule nobody is limited."""
    limit = nr.load_scenario("baseline-2012").relations.voucher_threshold_g
    strangers, vouched, reputed = _purchases_of_strangers(vouching=True)
    assert strangers.max() <= limit * (1 + 1e-9)
    assert (vouched > 2 * limit).any() and (reputed > 2 * limit).any()  # well above: sums may round past it
    open_market, _, _ = _purchases_of_strangers(vouching=False)
    assert (open_market > 2 * limit).any()


def test_contact_cap_keeps_retail_teams_small():
    """The cap alone (M4, M5): without mid-level leaders, who also keep direct teams near 7."""
    def teams(cap: int) -> np.ndarray:
        world = _run_weeks(build_world(tiny("population.scale=0.05", f"relations.contact_cap={cap}",
                                            "market.leader_share=0"), 2), 104)
        p = world.people
        rd = p.rows(RETAIL)
        return np.bincount(p.supplier[rd][p.supplier[rd] >= 0], minlength=len(p))[p.rows(WHOLESALE)]
    capped, uncapped = teams(8), teams(10_000)
    assert capped.max() <= 8
    assert uncapped.max() > 8
    assert uncapped.mean() > capped.mean()


def test_no_entrant_to_wholesale_lacks_an_introducer():
    """M14, SF7: every promotion has an introducer; without one (no kin, no prison mate, and a trial
    period longer than the run) nobody moves up, unless the rule is switched off."""
    def entrants(*sets: str):
        res = nr.run(tiny(*MEDIUM, *sets), seed=5)
        return res.events[res.events["kind"] == "introduced"]
    ev = entrants()
    assert len(ev) > 0
    assert (ev["value"] > 0).all()
    closed = (*NO_KIN, "relations.internship_weeks=1000", "prison.prior_record_share=0",
              "prison.heroin_user_record_share=0", "prison.cannabis_user_record_share=0", "prison.initial_inmates=0")
    assert len(entrants(*closed)) == 0
    loose = entrants(*closed, "relations.need_introducer=false")
    assert len(loose) > 0 and (loose["value"] == 0).all()


def test_cheats_are_excluded_and_their_voucher_pays():
    world = _run_weeks(build_world(tiny("relations.cheat_rate=1.0"), 1), 1)
    p = world.people
    wh = p.rows(WHOLESALE)
    p.voucher[wh] = p.rows(TRAFFICKER)[0]
    p.reputation[p.rows(TRAFFICKER)[0]] = 10.0
    world.t = 4 * (world.t // 4 + 1)
    world.new_week()
    relations.step(world, np.random.default_rng(1))
    assert ((p.flags[p.rows(RETAIL)] & EXCLUDED) != 0).any()
    assert ((p.flags[wh] & EXCLUDED) != 0).any()  # with every wholesaler cheating, some are caught
    assert p.reputation[p.rows(TRAFFICKER)[0]] == 0.0
    careers.step(world, np.random.default_rng(1))
    still = np.concatenate([p.rows(RETAIL), p.rows(WHOLESALE)])
    assert ((p.flags[still] & EXCLUDED) == 0).all()


def _disputes(*sets: str):
    """A week-old world and disputes of retail dealers against their active wholesalers, no Vory on either
    side; the cheats hold stocks spread over two orders of magnitude (what is at stake varies)."""
    world = _run_weeks(build_world(tiny("population.scale=0.05", *sets), 1), 1)
    p = world.people
    rd = p.rows(RETAIL)
    rd = rd[(p.supplier[rd] >= 0) & (p.role[np.maximum(p.supplier[rd], 0)] == WHOLESALE)]
    p.flags[rd] &= ~np.uint8(VORY)
    p.flags[p.supplier[rd]] &= ~np.uint8(VORY)
    p.stock_g[rd] = np.geomspace(1.0, 100.0, rd.size) * p.demand_ewma[rd]
    return world, rd, p.supplier[rd]


def _violent(world, cheats, victims, chance: float) -> int:
    world.scenario.policing.crackdown_chance = chance
    return int((relations.resolve(world, cheats, victims) == relations.VIOLENT).sum())


def test_violence_is_deterred_by_crackdowns_and_sentences(monkeypatch):
    """M45 (L844 [P13]): a wronged supplier fights only when his loss outweighs the chance of a crackdown
    times the prison he would get; more likely crackdowns, longer sentences or a dearer year inside mean
    fewer violent disputes; with no crackdown to fear every loss is worth a fight."""
    world, cheats, victims = _disputes()
    counts = [_violent(world, cheats, victims, c) for c in (0.0, 1e-4, 1e-3, 1e-2, 0.5)]
    assert counts[0] == cheats.size > 0
    assert all(a >= b for a, b in zip(counts, counts[1:], strict=False)) and counts[1] > counts[3]
    assert counts[-1] == 0  # the thesis's peaceful market at the default chance
    chance = 1e-4
    base = _violent(world, cheats, victims, chance)
    table = justice.sentences()
    monkeypatch.setattr(justice, "sentences", lambda: table * 3.0)
    assert 0 < _violent(world, cheats, victims, chance) < base
    monkeypatch.setattr(justice, "sentences", lambda: table)
    world.scenario.market.prison_time_weight = 3.0
    assert _violent(world, cheats, victims, chance) < base


def test_vory_clients_disputes_are_arbitrated_never_violent():
    """M61, M62 (L826, L830 [P7]): if either party is a Vory client the Vory arbitrate, even where the
    supplier would otherwise fight; a dispute without a wronged supplier ends quietly."""
    world, cheats, victims = _disputes()
    world.scenario.policing.crackdown_chance = 0.0
    p = world.people
    wholesalers = np.unique(victims)
    p.flags[wholesalers[::3]] |= VORY
    client = (p.flags[victims] & VORY) != 0
    p.flags[cheats[~client][::2]] |= VORY  # the cheat is the Vory's man, his supplier is not
    outcome = relations.resolve(world, cheats, victims)
    vory = ((p.flags[cheats] | p.flags[victims]) & VORY) != 0
    assert client.sum() > 0 and (vory & ~client).sum() > 0
    assert (outcome[vory] == relations.ARBITRATED).all()
    assert (outcome[~vory] == relations.VIOLENT).all()
    wholesalers = p.rows(WHOLESALE)  # a wholesaler's cheating has no wronged supplier in the model: quiet
    assert (p.stock_g[wholesalers] > 0).any()
    assert (relations.resolve(world, wholesalers, p.supplier[wholesalers]) == relations.QUIET).all()


def test_a_noticed_fight_brings_a_crackdown_on_the_parties_and_their_partners():
    """M45: "we will pack all of them ... Every single one" [P13] (L844): both parties and their trade
    partners in the region go through justice to prison; nobody else does; unnoticed fights bring nothing.
    Every dealer's sale is documented here: one charged with possession of a few tens of grams of cannabis gets
    no prison term (Table 7.1; session 37), which is justice, not a crackdown that spares him (since session
    39 seed 1's team has three such dealers)."""
    world, cheats, victims = _disputes("corruption.bribe_at_arrest=0", "justice.conviction_rate=1",
                                       "relations.kin_substitution=0",  # no relative confesses in his place
                                       "policing.sale_documented=1")
    p, ties = world.people, world.ties
    local = (ties.kind == TRADE) & (p.region[ties.src] == p.region[ties.dst])  # a trafficker sold him lots here
    i = np.flatnonzero(np.isin(victims, ties.dst[local]))[0]
    cheat, wh = cheats[i:i + 1], victims[i:i + 1]
    rd = p.rows(RETAIL)
    team = rd[p.supplier[rd] == wh[0]]
    runners = rd[p.supplier[rd] == cheat[0]]  # a cheat who is a mid-level leader (7.5) takes his runners down too
    sellers = np.unique(ties.src[local & (ties.dst == wh[0])])
    tr = p.rows(TRAFFICKER)
    ties.add(tr[p.region[tr] != p.region[wh[0]]][:1], wh, TRADE, world.t)  # a partner outside the region
    upper = np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    arrested = np.concatenate([team, runners, wh, sellers])
    others = np.setdiff1d(np.concatenate([rd, upper]), arrested)
    world.new_week()
    world.scenario.policing.crackdown_chance = 0.0
    policing.crackdown(world, np.random.default_rng(0), cheat, wh)
    assert (p.status[arrested] == ACTIVE).all() and "crackdown_arrests" not in world.week.counts
    world.scenario.policing.crackdown_chance = 1.0
    policing.crackdown(world, np.random.default_rng(0), cheat, wh)
    assert cheat[0] in team and team.size >= 2 and sellers.size >= 1
    assert (p.status[arrested] == PRISON).all()
    assert (p.status[others] == ACTIVE).all()
    assert world.week.counts[("crackdown_arrests", "police", "true")].sum() == arrested.size
    assert world.week.counts[("arrests", "retail", "true")].sum() == team.size + runners.size


def test_trade_ties_count_repeat_deals():
    ties = Ties(4)
    ties.merge_trade(np.array([1, 1, 2]), np.array([5, 6, 5]), week=0)
    ties.merge_trade(np.array([1, 3]), np.array([5, 5]), week=1)
    pairs = {(int(s), int(d)): int(u) for s, d, u in zip(ties.src, ties.dst, ties.uses, strict=True)}
    assert pairs == {(1, 5): 2, (1, 6): 1, (2, 5): 1, (3, 5): 1}
    ties.forget_trade(before_week=1)
    assert sorted(zip(ties.src.tolist(), ties.dst.tolist(), strict=True)) == [(1, 5), (3, 5)]


@pytest.fixture(scope="module")
def medium_runs() -> list[nr.Results]:
    return [nr.run(tiny(*MEDIUM), seed=s) for s in SEEDS]


def _national(res: nr.Results, metric: str, level: str) -> float:
    d = res.series(metric, level=level, place="KZ")
    return float(d[d["week"] >= d["week"].max() - 51]["value"].mean())


def test_sf2_enterprises_are_small(medium_runs):
    """SF2: 6-8 retail dealers per wholesaler (L1022 [P23]); accepted band 4-10. Only the lower bound can fail:
    teams are capped at relations.contact_cap = 8 (tested in test_contact_cap_keeps_retail_teams_small), which
    also keeps every enterprise below the spec's ~20 members."""
    for res in medium_runs:
        assert _national(res, "team_size", "wholesale") >= 4.0


def test_sf3_buyer_seller_ties_are_short_lived():
    """SF3: pairs trade once or a few times (L1008, L1010): at least half of the trafficker-wholesaler
    ties of the last year were used at most three times (band is ours, [interp] in the spec); and the
    recorded SF3b share counts the ties of the last year used exactly once. SF3b's own band (a majority used
    once) is checked nationally only (test_validation_national.py): with the few wholesalers of a small run
    ties are reused more, and more so when lots follow the scale (each of the few traffickers then sells
    1/scale times his national number of lots, ODD 2), so this run keeps lots of national size."""
    world = _run_weeks(build_world(tiny("population.scale=0.05", "supply.lots_follow_scale=false"), 1), 60)
    ties, p = world.ties, world.people
    recent = (ties.kind == TRADE) & (ties.last >= world.t - 52)
    assert recent.sum() > 50
    assert np.mean(ties.uses[recent] <= 3) >= 0.5
    buyers = np.bincount(p.substance[ties.dst[recent]], minlength=3)
    once = np.bincount(p.substance[ties.dst[recent][ties.uses[recent] == 1]], minlength=3)
    recorded = Recorder._measure_structure(world)[("one_off_pairs", "wholesale")]
    assert 0 < once.sum() < buyers.sum()
    np.testing.assert_allclose(recorded[buyers > 0], (once / buyers)[buyers > 0])


def test_exposure_falls_with_level(medium_runs):
    """M3 ('25 tomatoes', L1042-1058 [P13]): retail dealers know more people than wholesalers, who know
    more than traffickers."""
    for res in medium_runs:
        retail = _national(res, "exposure", "retail")
        wholesale = _national(res, "exposure", "wholesale")
        trafficking = _national(res, "exposure", "trafficking")
        assert retail > wholesale > trafficking > 0


def test_sf7_every_upper_entrant_was_introduced(medium_runs):
    """SF7: 100% of entrants into wholesale had an introducer (L1141, L1151, L1161)."""
    total = 0
    for res in medium_runs:
        ev = res.events[res.events["kind"] == "introduced"]
        total += len(ev)
        assert (ev["value"] > 0).all()
    assert total > 0


@pytest.mark.xfail(strict=True, reason="known miss: with dealing spells (M31) far fewer than 0.7 of the users who "
                   "started in the run and have used 2+ years ever sold (the value: docs/scorecard.json); the thesis "
                   "says almost all users deal at some point (L690 [P32]). Spells fill wholesalers' vacancies, "
                   "careers last years, and only users whose income does not cover their habit start spells; see "
                   "docs/ODD.md")
def test_sf10_most_users_deal_at_some_point(medium_runs):
    """SF10: lifetime share of users who ever sell >= 0.7 (thesis-mechanisms SF10, [interp]), among users
    who started in the run and have used at least 2 years (the scorecard's measure)."""
    for res in medium_runs:
        assert _national(res, "ever_sold_share_career", "user") >= 0.7


def test_network_export(tmp_path):
    out = tmp_path / "runs"
    res = subprocess.run([sys.executable, "-m", "northroute", "run", "--scale", "0.01", "--years", "1.1",
                          "--set", "time.burn_in_weeks=4", "--quiet", "--json", "--no-report", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    run_dir = json.loads(res.stdout.splitlines()[-1])["run_dir"]
    for fmt, read in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        target = tmp_path / f"net.{fmt}"
        done = subprocess.run([sys.executable, "-m", "northroute", "network", run_dir, "--year", "2012",
                               "--format", fmt, "--out", str(target)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        g = read(target)
        roles = {d["role"] for _, d in g.nodes(data=True)}
        assert {"retail", "wholesale"} <= roles
        kinds = {d["kind"] for _, _, d in g.edges(data=True)}
        assert "supply" in kinds
    bad = subprocess.run([sys.executable, "-m", "northroute", "network", run_dir, "--year", "1999"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no snapshot for 1999" in bad.stderr


def test_report_shows_an_enterprise(tmp_path, medium_runs):
    from northroute.report import write_report

    page = write_report(medium_runs[0], tmp_path / "r.html").read_text()
    assert "<h2>Enterprises</h2>" in page
    assert "fig-enterprise" in page and "fig-enterprise-sizes" in page


# ------------------------------------------------------------------ the kin group's instruments (M20, M24, M70)


def _kin_world(*sets: str):
    """A small world whose kin groups the test sets by hand: nobody is in the community at first."""
    world = build_world(tiny("population.scale=0.05", *NO_KIN, *sets), 2)
    world.kin_groups, world.kin_offsets = 10, np.array([3])
    return world


def _join(world, rows, group: int) -> None:
    p = world.people
    p.kin[rows] = group
    p.flags[rows] |= COMMUNITY
    world.kin_rows = np.flatnonzero(p.kin >= 0)


def test_kin_groups_are_linked_to_distinct_other_groups():
    """M20: each kin group is in touch with kin_reach other groups, never itself, none twice."""
    world = build_world(tiny("population.scale=0.05", "relations.community_share=0.3", "relations.kin_reach=4"), 1)
    assert world.kin_groups > 10
    off = world.kin_offsets
    assert off.size == 4 and np.unique(off).size == 4 and (off >= 1).all() and (off < world.kin_groups).all()
    reach = relations.reached_groups(world, np.array([0, world.kin_groups - 1]))
    assert reach.shape == (2, 5) and reach[:, 0].tolist() == [0, world.kin_groups - 1]
    assert all(np.unique(row).size == 5 for row in reach)
    world = build_world(tiny("population.scale=0.05", "relations.community_share=0.3", "relations.kin_reach=0"), 1)
    assert world.kin_offsets.size == 0


def test_the_kin_community_starts_dominant_in_the_upper_tier():
    """L888 [P12]: in 2012 the community was still "the majority ... among those who traded on a larger scale";
    below the upper tier it holds its population share."""
    def shares(start: float) -> tuple[float, float]:
        world = build_world(tiny("population.scale=0.05", f"relations.community_upper_start={start}"), 2)
        p = world.people
        kin = (p.flags & COMMUNITY) != 0
        upper = ((p.role == WHOLESALE) | (p.role == TRAFFICKER)) & (p.status == ACTIVE)  # not the inmates
        return float(kin[upper].mean()), float(kin[~upper].mean())
    upper, rest = shares(0.5)  # about 140 of them: 0.5 +- 0.13 is three standard errors
    assert 0.37 < upper < 0.63 and rest < 0.04
    assert shares(0.02)[0] < 0.1


def test_a_linked_kin_group_opens_an_exit_to_the_weight():
    """M20, M14: a wholesaler of a kin group his group is in touch with introduces a kin candidate and counts
    as one more exit; one of a group out of reach does not."""
    world = _kin_world()
    p = world.people
    cand = p.rows(RETAIL)[p.substance[p.rows(RETAIL)] == HEROIN][:1]
    wh = p.rows(WHOLESALE)
    wh = wh[p.substance[wh] == HEROIN]
    rng = np.random.default_rng(0)
    _, _, alone = relations.find_introducers(world, cand, rng)
    _join(world, cand, 2)
    _join(world, wh[:1], 7)  # group 2 reaches 2 and 5 only
    intro, how, exits = relations.find_introducers(world, cand, rng)
    assert how[0] != relations.INTRO_KIN and exits[0] == alone[0]
    _join(world, wh[1:2], 5)
    intro, how, exits = relations.find_introducers(world, cand, rng)
    assert intro[0] == wh[1] and how[0] == relations.INTRO_KIN and exits[0] == alone[0] + 1


def test_promotion_favours_dealers_with_more_exits():
    """M20: of two equally busy senior dealers of one market, the one with a second exit (a kin wholesaler)
    moves up; without `exit_options` either may."""
    def promoted(options: bool, seed: int) -> set[int]:
        world = _kin_world(f"relations.exit_options={str(options).lower()}")
        p = world.people
        rd = p.rows(RETAIL)
        direct = rd[np.isin(p.supplier[rd], p.rows(WHOLESALE)) & (p.substance[rd] == HEROIN)]
        a, b = direct[0], direct[np.flatnonzero(p.market[direct] == p.market[direct[0]])[1]]
        p.since[rd] = world.t  # nobody else is senior
        world.ties = Ties(16)  # no prison mates: a's second exit is his kin's wholesaler
        p.since[[a, b]] = world.t - 1000
        p.demand_ewma[[a, b]] = 10.0
        _join(world, [a], 2)
        _join(world, p.rows(WHOLESALE)[p.substance[p.rows(WHOLESALE)] == HEROIN][:1], 2)
        n_promote = np.zeros(world.geo.n * 3, np.int64)
        n_promote[p.market[a]] = 1
        careers._promote(world, rd, n_promote, np.random.default_rng(seed))
        return {int(r) for r in (a, b) if p.role[r] == WHOLESALE}, int(a)
    for seed in range(10):
        up, a = promoted(True, seed)
        assert up == {a}
    assert any(up != {a} for up, a in (promoted(False, seed) for seed in range(10)))
    assert careers.exit_weight(np.array([0, 1, 3]), True).tolist() == [1.0, 1.0, 3.0]
    assert careers.exit_weight(np.array([0, 1, 3]), False).tolist() == [1.0, 1.0, 1.0]


def test_a_younger_relative_confesses_for_a_kin_wholesaler():
    """M70 (L956 [P11][P17]): with kin_substitution 1 a user of his kin group goes to prison instead of the
    arrested kin wholesaler; not in a bribery case, not for a wholesaler outside the community, not for two
    wholesalers at once (his only relative confesses for one) and not when he is arrested himself."""
    world = _kin_world("relations.kin_substitution=1", "corruption.bribe_at_arrest=0")
    p, rng = world.people, np.random.default_rng(3)
    wh, users = p.rows(WHOLESALE)[:3], p.rows(USER)[:1]
    _join(world, wh[:2], 4)
    _join(world, users, 4)
    assert relations.confess_for_kin(world, wh, rng).tolist() == [users[0], wh[1], wh[2]]  # one confession each
    assert relations.confess_for_kin(world, np.append(wh, users), rng).tolist() == [*wh, *users]  # he goes too
    justice.arrest(world, rng, wh[:1], "quota")
    assert p.status[wh[0]] == ACTIVE and p.status[users[0]] == PRISON
    justice.arrest(world, rng, wh[1:2], "taken_down", bribery=True)
    assert p.status[wh[1]] == PRISON
    world.scenario.relations.kin_substitution = 0.0
    assert relations.confess_for_kin(world, wh, rng).tolist() == wh.tolist()


def test_only_a_relative_whose_arrest_makes_a_case_confesses():
    """A relative is charged with what he holds: when that is no crime to possess (possession thresholds a hundred
    times Table 7.1: a cannabis user's unit), he would be let go (7.10 item 0), so he cannot stand in and the
    senior goes himself; a heroin relative (any heroin is a crime to hold) still can."""
    world = _kin_world("relations.kin_substitution=1", "corruption.bribe_at_arrest=0",
                       "justice.possession_threshold_factor=100")
    p, rng = world.people, np.random.default_rng(3)
    wh = p.rows(WHOLESALE)[:1]
    users = p.rows(USER)
    lone = users[p.pool[users] < 0]
    cannabis, heroin = lone[p.substance[lone] != HEROIN][:1], lone[p.substance[lone] == HEROIN][:1]
    _join(world, [*wh, *cannabis], 4)
    for _ in range(10):
        assert relations.confess_for_kin(world, wh, rng).tolist() == wh.tolist()
    world.scenario.justice.possession_threshold_factor = 1.0  # Table 7.1: his unit is a crime to hold
    assert relations.confess_for_kin(world, wh, rng).tolist() == cannabis.tolist()
    world.scenario.justice.possession_threshold_factor = 100.0
    _join(world, heroin, 4)
    assert relations.confess_for_kin(world, wh, rng).tolist() == heroin.tolist()


def test_seniors_who_draw_the_same_relative_draw_again():
    """Two seniors and three relatives of one kin group: each senior gets his own relative every time (drawn with
    replacement, a meeting used to send the second senior himself, about one batch in three here)."""
    world = _kin_world("relations.kin_substitution=1", "corruption.bribe_at_arrest=0")
    p, rng = world.people, np.random.default_rng(5)
    wh, young = p.rows(WHOLESALE)[:2], p.rows(USER)[:3]
    _join(world, [*wh, *young], 4)
    for _ in range(30):
        got = relations.confess_for_kin(world, wh, rng)
        assert np.isin(got, young).all() and got[0] != got[1]


def test_kin_do_not_name_kin():
    """L884 [P20]: a cooperating witness does not name a supplier of his kin group; others he may. No relative
    confesses here: one would take the named wholesaler's place and hide a naming (found in session 32)."""
    world = _kin_world("justice.testimony_conviction=1", "corruption.bribe_at_arrest=0", "relations.kin_substitution=0")
    p, rng = world.people, np.random.default_rng(4)
    rd = p.rows(RETAIL)
    rd = rd[np.isin(p.supplier[rd], p.rows(WHOLESALE))]
    a, b = rd[0], rd[np.flatnonzero(p.supplier[rd] != p.supplier[rd[0]])[0]]
    _join(world, [a, p.supplier[a]], 1)
    _join(world, [b], 2)
    _join(world, [p.supplier[b]], 3)
    assert relations.silent(world, np.array([a, b]), p.supplier[[a, b]]).tolist() == [True, False]
    justice._testify(world, rng, np.array([a, b]))
    assert p.status[p.supplier[a]] == ACTIVE and p.status[p.supplier[b]] == PRISON
    world.scenario.relations.kin_silence = False
    assert not relations.silent(world, np.array([a]), p.supplier[[a]]).any()


def test_drug_prisoners_at_the_start_belong_to_the_community_too():
    """The kin group is not kept out of the prisons: inmates at the start join it at its share (with none of
    them, releases would dilute its share of the upper tier)."""
    world = build_world(tiny("population.scale=0.05", "relations.community_share=0.3"), 1)
    p = world.people
    inside = np.flatnonzero(p.status == PRISON)
    share = np.mean((p.flags[inside] & COMMUNITY) != 0)
    assert inside.size > 100 and 0.2 < share < 0.4


def test_kin_buy_where_their_kin_live():
    """M20 (L884 [DE11]): a kin wholesaler left short at home buys at the supply node of a region where his
    kin live, from that node's lots; a wholesaler outside the community, or with `kin_buying` off, does not."""
    def bought(kin_buying: bool, member: bool) -> tuple[float, float]:
        """Lot grams he got, and lot grams that left his kin's supply node."""
        # lots of national size: at this scale some supply nodes then hold nothing, the shortage kin buying answers
        world = _kin_world(f"relations.kin_buying={str(kin_buying).lower()}", "supply.lots_follow_scale=false")
        world.kin_offsets = np.zeros(0, np.int64)  # his own kin group only
        p, geo, lots = world.people, world.geo, world.lots

        def offered() -> np.ndarray:
            node = geo.route_nodes[lots.route, lots.pos]
            here = ~lots.export & (geo.kind[node] == "region") & (lots.substance == HEROIN)
            return np.bincount(node[here], lots.bulk_g[here], geo.n)

        regions = geo.regions
        rich = regions[offered()[geo.buy_node[HEROIN, regions]] > 100.0]
        wh = p.rows(WHOLESALE)
        wh = wh[(p.substance[wh] == HEROIN) & ~np.isin(geo.buy_node[HEROIN, p.region[wh]],
                                                       geo.buy_node[HEROIN, rich])]
        users = p.rows(USER)
        kin_region = rich[np.argmin(offered()[geo.buy_node[HEROIN, rich]])]  # not the best supplied node
        _join(world, users[p.region[users] == kin_region][:8], 1)
        if member:
            _join(world, wh[:1], 1)
        world.new_week()
        kin_node = geo.buy_node[HEROIN, kin_region]
        before, at_kin = p.stock_g[wh[0]], offered()[kin_node]
        trade.kin_purchases(world, np.random.default_rng(6), wh[:1], np.array([50.0]))
        return (p.stock_g[wh[0]] - before) * (1 - cutting(world)[HEROIN]), at_kin - offered()[kin_node]
    got, left_kin = bought(True, True)
    assert got > 0 and left_kin == pytest.approx(got)
    assert bought(True, False)[0] == 0 and bought(False, True)[0] == 0


def test_early_quit_rate_ends_new_careers_and_spares_old_ones() -> None:
    """users.early_quit_rate (off by default): a new retail dealer quits at the early rate, one with ten
    years in the trade at about the base rate only (L1652 [DE2] against L1012)."""
    def quit_share(since_weeks: int, early: float) -> float:
        world = build_world(tiny(f"users.early_quit_rate={early}", "users.dealer_quit_rate=0",
                                 "users.idle_dealer_quit_rate=0"), 1)
        p = world.people
        rd = p.rows(RETAIL)
        p.since[rd] = world.t - since_weeks
        careers._leave(world, np.random.default_rng(0))
        return float(np.mean(p.role[rd] != RETAIL))

    assert quit_share(0, 0.0) == 0.0
    new, old = quit_share(0, 6.5), quit_share(520, 6.5)
    assert 0.4 < new < 0.6 and old < 0.01  # 6.5/year x 4/52.18 = 0.498 for a new dealer; x exp(-40) after ten years


def test_vory_are_weaker_where_the_police_are_strong() -> None:
    """M68 (L850 [P5]): the chance of buying Vory protection is `vory_uptake` times the region's drug officers
    per dealer over the country's, to the power -`vory_police_elasticity`; certain where there are no police."""
    world = build_world(tiny("population.scale=0.05", "relations.vory_police_elasticity=2"), 1)
    p, off, geo = world.people, world.officers, world.geo
    police = off.drug_police()
    officers = np.bincount(off.place[police], minlength=geo.n)
    dealers = sum(np.bincount(p.region[p.rows(role)], minlength=geo.n) for role in (RETAIL, WHOLESALE, TRAFFICKER))
    here = np.flatnonzero(dealers > 0)
    by_hand = officers[here] / dealers[here] / (officers.sum() / dealers.sum())
    assert relations.police_strength(world)[here] == pytest.approx(by_hand)
    assert by_hand.max() > 1.2 * by_hand.min()  # officers follow population, dealers drug use
    wh = p.rows(WHOLESALE)
    chance = relations.vory_chance(world, wh)
    assert chance == pytest.approx(np.minimum(1.0, 0.1 * relations.police_strength(world)[p.region[wh]] ** -2.0))
    off.status[police[off.place[police] == p.region[wh[0]]]] = 2  # the region's police convicted, say
    assert relations.vory_chance(world, wh[:1])[0] == 1.0


def test_wholesalers_who_lose_police_protection_turn_to_the_vory() -> None:
    """M68 model note: the Vory and corrupt police are substitutes (L862 [DE2]); with the chance set to 1, every
    free wholesaler whose deal ends becomes a Vory client, the arrested do not, and without the rule none does."""
    for replaces in (True, False):
        world = build_world(tiny("population.scale=0.05", "relations.vory_uptake=1",
                                 "relations.vory_police_elasticity=0",
                                 f"relations.vory_replaces_police={str(replaces).lower()}"), 2)
        p = world.people
        wh = p.rows(WHOLESALE)
        p.flags[wh] &= ~np.uint8(VORY)
        ended, jailed = wh[:10], wh[10:12]
        p.status[jailed] = PRISON
        relations.turn_to_vory(world, world.rngs["corruption"], np.concatenate([ended, jailed]))
        clients = (p.flags & VORY) != 0
        assert clients[ended].all() == replaces and not clients[jailed].any() and not clients[wh[12:]].any()


def test_deals_that_end_send_free_clients_to_the_vory() -> None:
    """M68 through its two callers: a deal ends when the protector turns honest (7.11) or is convicted and his
    clients are not taken down (7.12); with the uptake at 1 every such free client becomes a Vory client."""
    from northroute.processes import anticorruption, corruption
    from northroute.world.officers import HONEST

    def vory_clients(ending: str) -> tuple[int, int]:
        world = build_world(tiny("population.scale=0.05", "relations.vory_uptake=1",
                                 "relations.vory_police_elasticity=0", "corruption.sacrifice=0",
                                 "anticorruption.taken_down=0"), 2)
        p, off = world.people, world.officers
        wh = p.rows(WHOLESALE)
        p.flags[wh] &= ~np.uint8(VORY)
        clients = wh[p.protector[wh] >= 0]
        if ending == "honest":
            off.mode[p.protector[clients]] = HONEST
            corruption.protection_deals(world, world.rngs["corruption"])
        else:
            anticorruption._take_down_clients(world, world.rngs["anticorruption"], np.unique(p.protector[clients]))
        return clients.size, int(np.count_nonzero((p.flags[clients] & VORY) != 0))

    for ending in ("honest", "convicted"):
        n, vory = vory_clients(ending)
        assert n > 10 and vory == n, ending


def test_sf37_vory_clients_fewer_in_red_regions() -> None:
    """SF37's measure follows the rule: far lower with a strong elasticity than when the Vory ignore the police
    (same seeds). A region holds a few wholesalers at this scale, so the measure is noisy (0.37-1.02 per seed
    at elasticity 0): many clients (uptake 0.4) and the mean over three seeds."""
    from northroute.validation.facts import frame, sf37_red

    def measure(elasticity):
        return np.mean([sf37_red(frame(nr.run(tiny("population.scale=0.05", "time.years=1",
                                                   "relations.vory_uptake=0.4",
                                                   f"relations.vory_police_elasticity={elasticity}"),
                                              seed=s).timeseries)) for s in SEEDS])
    assert measure(3.0) < 0.5 * measure(0.0)


def test_released_addicts_join_a_prison_mates_team() -> None:
    """M69 (L980): a released user with a prison mate now at wholesale in his market joins that wholesaler's
    team when it has room, through prison's monthly release; not when the mate deals in another market, nor
    when the rule is off (the run is then the one without the rule, draw for draw)."""
    from northroute.processes import prison
    from northroute.world.ties import PRISON as PRISON_TIE

    for on in (True, False):
        world = build_world(tiny("population.scale=0.05", f"prison.back_to_dealing={str(on).lower()}"), 3)
        p = world.people
        world.t = 4 * (world.t // 4 + 1)  # a release month
        rd = p.rows(RETAIL)
        team = np.bincount(p.supplier[rd][p.supplier[rd] >= 0], minlength=len(p))
        wh = p.rows(WHOLESALE)
        full = wh[np.argmax(team[wh])]  # the cap is set to his team: he has no room
        world.scenario.relations.contact_cap = cap = int(team[full])
        boss = wh[team[wh] <= cap - 2][0]
        users = p.rows(USER)
        out = np.concatenate([users[p.market[users] == p.market[boss]][:2],
                              users[p.market[users] != p.market[boss]][:1],
                              users[(p.market[users] == p.market[full]) & (p.market[users] != p.market[boss])][:1]])
        world.ties.add(out.astype(np.int32), np.array([boss, boss, boss, full], np.int32), PRISON_TIE, world.t)
        prison.admit(world, out, np.full(4, 0.1))
        p.release[out] = world.t
        prison.step(world, world.rngs["prison"])
        assert (p.status[out] == ACTIVE).all()
        joined = (p.role[out] == RETAIL) & (p.supplier[out] == np.array([boss, boss, boss, full]))
        assert list(joined) == [on, on, False, False]
