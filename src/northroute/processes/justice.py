"""Justice: what an arrest becomes, in the true world and in the agencies' records.

- A corrupt arresting officer may take a bribe and drop the case (thesis L1648 [P5]); the case is
  then never registered (M41b, L1912).
- Charges follow the 2014 Criminal Code as the thesis reads it (L1788): possession without intent
  to sell (Art. 296), sale "regardless of their size" (Art. 297), smuggling (Art. 286); the weight category
  comes from Table 7.1 (`data/thresholds.csv`), so a gram of heroin is "extra-large" (M39, L1082). A
  pool's buyer is charged as an organised distributor (M35, L976, L1084 [P11]); a share of user arrests
  is written up as members of organised groups (framing, M41c, L1626). A retail dealer's or pool buyer's
  sale the police do not document is not registered: he is charged with possession of what he holds (M41b,
  L1912: crimes they "could not prove" were not registered; the accused "found drugs on the street").
- Conviction is near-certain once charged (M42, L1906 [O7]); sentences come from
  `data/sentences.csv` (each row cites its source).
- Formal cooperation is almost never registered (M37, L1956 [P23]); with working witness protection
  (S6) a cooperating dealer's testimony puts his supplier in prison: a runner can name only his
  mid-level leader (L1962 [P22]: the smaller dealers "have access to him"), who may name the wholesaler.
  Kin never name kin (L884 [P20]), and a younger relative may confess in place of an arrested kin
  wholesaler or trafficker (M70, L956 [P11][P17]; `relations.confess_for_kin`).
- Each controlled purchase of a dealer is registered as a separate crime (M41a, L1910), so recorded
  crimes exceed dealers prosecuted (SF34).
Stock found on arrested people is seized; a dealing officer puts part of it back on the market and
records only the rest (L1630, L1634 [DE3]).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

import numpy as np

from northroute.processes import careers, prison, relations
from northroute.processes.matching import random_member
from northroute.world.arrays import scatter_add
from northroute.world.officers import CUSTOMS, DEALER, HONEST, LINE
from northroute.world.people import (
    ACTIVE,
    HEROIN,
    LEADER,
    NOT_LEADER,
    RETAIL,
    SUBSTANCE_NAMES,
    TRAFFICKER,
    USER,
    WHOLESALE,
)
from northroute.world.state import REFORM_SWITCH, World

POSSESSION, SALE, ORGANISED, SMUGGLING = 0, 1, 2, 3
CHARGE_LEVEL = ("user", "retail", "wholesale", "trafficking")  # the level a charge is recorded under
CATEGORIES = ("none", "small", "large", "extra_large")
# A user arrested holds a day of his need (assumption), at least the retail unit he buys: a heroin "check"
# of 0.33 g (thesis L1404, footnote 7: "repeatedly stated in many interviews"), a marijuana matchbox of
# "2-3 grams" (L1394 [14]) and a hashish "shaiba" of 3-5 g (L1402 [O11]), the last two at their mid-points
RETAIL_UNIT_G = np.array([0.33, 2.5, 4.0])  # grams of heroin, marijuana, hashish (L1404, L1394 [14], L1402 [O11])
PLEA_FACTOR = 0.5  # assumption: a procedural agreement halves the sentence (thesis L1960)


@cache
def thresholds() -> np.ndarray:
    """[substance, 3] lower bounds (g) of small, large and extra-large amounts (Table 7.1, L1796-1800)."""
    out = np.zeros((len(SUBSTANCE_NAMES), 3))
    with resources.files("northroute").joinpath("data/thresholds.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["substance"] in SUBSTANCE_NAMES:
                out[SUBSTANCE_NAMES.index(row["substance"]), CATEGORIES.index(row["category"]) - 1] = \
                    float(row["lower_g"])
    return out


@cache
def sentences() -> np.ndarray:
    """[charge, category] mean years of prison (`data/sentences.csv`)."""
    out = np.zeros((4, len(CATEGORIES)))
    with resources.files("northroute").joinpath("data/sentences.csv").open() as fh:
        for row in csv.DictReader(fh):
            out[int(row["charge"]), CATEGORIES.index(row["category"])] = float(row["years"])
    return out


def category(world: World, substance: np.ndarray, grams: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Weight category of each holding under its charge; 0 below the small threshold (no criminal case for
    possession). The thresholds of Table 7.1 are softened by four policy levers: every drug and charge, heroin
    only, possession only, and cannabis possession only (S18)."""
    bounds = _bounds(world)
    key = np.asarray(substance, np.intp) * 2 + (np.asarray(charge) == POSSESSION)
    return sum((grams > bounds[key, k]).astype(np.int64) for k in range(3))


def _bounds(world: World) -> np.ndarray:
    """[drug x (other charge, possession), 3] lower bounds (g) of small, large and extra-large: Table 7.1 times the
    policy levers (`category`)."""
    j = world.scenario.justice
    drug = np.arange(len(SUBSTANCE_NAMES))[:, None]
    possession = np.array([[False, True]])
    factor = (j.threshold_factor * np.where(drug == HEROIN, j.heroin_threshold_factor, 1.0)
              * np.where(possession, j.possession_threshold_factor, 1.0)
              * np.where(possession & (drug != HEROIN), j.cannabis_possession_threshold_factor, 1.0))
    return (thresholds()[:, None, :] * factor[:, :, None]).reshape(-1, 3)


def pool_buyers(world: World, rows: np.ndarray) -> np.ndarray:
    """Whether each person buys for a pool of users (M35): a user who is his pool's own buyer."""
    p = world.people
    return (p.role[rows] == USER) & (p.pool[rows] == rows)


def _charge_by_role(world: World, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The charge each person's role and holding call for (before any framing), and what he holds."""
    p = world.people
    role = p.role[rows]
    pooled = pool_buyers(world, rows)
    day = np.maximum(p.need_g[rows] / 7.0, RETAIL_UNIT_G[p.substance[rows]])
    held = np.where(role == USER, day, p.stock_g[rows])
    held[pooled] *= world.scenario.market.pool_size
    charge = np.select([role == USER, role == RETAIL, role == WHOLESALE], [POSSESSION, SALE, ORGANISED],
                       SMUGGLING)
    charge[pooled] = ORGANISED
    return charge, held


def _category_of_charge(world: World, rows: np.ndarray, charge: np.ndarray, held: np.ndarray) -> np.ndarray:
    cat = category(world, world.people.substance[rows], held, charge)
    cat[(charge != POSSESSION) & (cat == 0)] = 1  # sale is a crime regardless of size (L1788)
    cat[charge == SMUGGLING] = 3  # assumption: traffickers move kilograms (10 and 100 kg shipments, L1201-1203 [P13])
    return cat


def case_chance(world: World, rows: np.ndarray) -> np.ndarray:
    """Chance that arresting each person makes a criminal case, as `charges` writes it up: possession below the
    small threshold is no crime (consumption decriminalised in the 2014 Code, L1786), so a user holding that
    little makes a case only if framed as a group's member, and a street seller whose sale goes undocumented only
    if his stock is a crime to hold. The quota counts cases ("credit demanded arrests, and arrests demanded
    crime", L1616; "he was making criminal cases for them ... that's how they met their quota", L1624 [DE2]),
    so officers weigh their targets by it (`policing.weigh_targets`)."""
    p, pol = world.people, world.scenario.policing
    seller = street_sellers(world, rows)
    # the others' charges do not turn on what they hold, and a lone user holds at least a retail unit, a crime to
    # hold for every drug whose small amount starts below it (all of them under Table 7.1)
    unit_a_crime = _bounds(world)[1::2, 0] < RETAIL_UNIT_G
    held_only = seller | ((p.role[rows] == USER) & ~unit_a_crime[p.substance[rows]])
    chance = np.ones(rows.size)
    some = rows[held_only]
    held = _charge_by_role(world, some)[1]
    a_crime = category(world, p.substance[some], held, np.full(some.size, POSSESSION)) > 0
    yes = np.where(seller[held_only], pol.sale_documented, framing_chance(world))
    chance[held_only] = yes + (1.0 - yes) * a_crime
    return chance


def framing_chance(world: World) -> float:
    """Chance a user's possession is written up as a group's member (M41c, L1626): only under counts (S5)."""
    pol = world.scenario.policing
    return pol.framing_rate * pol.quota_pressure


def charges(world: World, rng: np.random.Generator, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Charge and weight category of each arrested person, as the police write them up."""
    pol = world.scenario.policing
    charge, held = _charge_by_role(world, rows)
    framed = (charge == POSSESSION) & (rng.random(rows.size) < framing_chance(world))
    charge[framed] = ORGANISED
    # the sale of a dealer or pool buyer they cannot prove goes unregistered (M41b); no draw at 1.0, so there the
    # rule changes nothing (the calibrations shipped before session 28 pin 1.0)
    if pol.sale_documented < 1.0:
        charge[street_sellers(world, rows) & (rng.random(rows.size) >= pol.sale_documented)] = POSSESSION
    return charge, _category_of_charge(world, rows, charge, held)


def street_sellers(world: World, rows: np.ndarray) -> np.ndarray:
    """Whose sale the police must document to charge it (M41b): retail dealers and pools' buyers."""
    return (world.people.role[rows] == RETAIL) | pool_buyers(world, rows)


def expected_sentence(world: World, rows: np.ndarray) -> np.ndarray:
    """Years of prison (`data/sentences.csv`) the charge each person's role and holding call for, were he
    arrested now: what a dealer weighs before an act that brings the police (M45, L844 [P13]). A street
    seller's sale is charged only with chance `policing.sale_documented`, else his holding as possession, so he
    expects the mean of the two, as the police charge him (`charges`)."""
    charge, held = _charge_by_role(world, rows)
    years = sentences()[charge, _category_of_charge(world, rows, charge, held)]
    documented = world.scenario.policing.sale_documented
    if documented < 1.0:
        held_only = np.full(rows.size, POSSESSION)
        possession = sentences()[held_only, _category_of_charge(world, rows, held_only, held)]
        years = np.where(street_sellers(world, rows), documented * years + (1 - documented) * possession, years)
    return years


def arresting_officers(world: World, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """A serving drug officer (UBN or patrol) of each arrested person's region (-1 where there is none)."""
    off = world.officers
    line = off.serving(rank=LINE)
    line = line[off.agency[line] != CUSTOMS]
    return random_member(rng, world.people.region[rows].astype(np.int64), line,
                         off.place[line].astype(np.int64), world.geo.n)


def arrest(world: World, rng: np.random.Generator, rows: np.ndarray, cause: str, bribery: bool = False) -> None:
    """Arrest, charge, convict and imprison `rows` (active people); `cause` (`state.ARREST_CAUSES`) is logged with
    each arrest, so a reader can see why the arrested were reached; `bribery` adds the bribery charge given to
    clients of a convicted protector (M57)."""
    p, wk, cor = world.people, world.week, world.scenario.corruption
    rows = np.unique(rows[p.status[rows] == ACTIVE])
    if not bribery:  # a bribery case names the officer's own client: nobody can confess for him
        rows = np.unique(relations.confess_for_kin(world, rows, rng))
    if rows.size == 0:
        return
    charge, cat = charges(world, rng, rows)
    no_case = (charge == POSSESSION) & (cat == 0)  # possession below the small threshold is no crime (L1786)
    if no_case.any():
        wk.count("released_no_case", "user", p.substance[rows[no_case & (p.role[rows] == USER)]], 1.0)
        wk.count("released_no_case", "retail", p.substance[rows[no_case & (p.role[rows] != USER)]], 1.0)
        rows, charge, cat = rows[~no_case], charge[~no_case], cat[~no_case]
        if rows.size == 0:
            return
    officer = arresting_officers(world, rng, rows)
    corrupt = (officer >= 0) & (world.officers.mode[np.maximum(officer, 0)] != HONEST)
    bribed = corrupt & (p.cash[rows] > 0) & (rng.random(rows.size) < cor.bribe_at_arrest) & (not bribery)
    if bribed.any():
        paid = np.minimum(p.cash[rows[bribed]] * cor.arrest_bribe_share, cor.arrest_bribe_max_kzt)
        p.cash[rows[bribed]] -= paid
        scatter_add(world.officers.illicit, officer[bribed], paid)
        wk.count("bribes_kzt", "police", None, paid.sum())
        world.log("bribe", person=rows[bribed], place=p.region[rows[bribed]], substance=p.substance[rows[bribed]],
                  value=paid, role=p.role[rows[bribed]], cause=cause)
        rows, officer, charge, cat = rows[~bribed], officer[~bribed], charge[~bribed], cat[~bribed]
    np.add.at(world.officers.cases, officer[officer >= 0], 1)
    s = p.substance[rows]
    role = p.role[rows].astype(np.intp)
    level = np.array(CHARGE_LEVEL)[np.minimum(role, 3)]
    for lv in np.unique(level):
        sel = level == lv
        wk.count("arrests", str(lv), s[sel], 1.0)
    protected = p.protector[rows] >= 0
    wk.count("arrests_protected", "wholesale", s[protected & (role == WHOLESALE)], 1.0)
    pooled = pool_buyers(world, rows) & (charge != POSSESSION)  # a pool's buyer charged as a distributor
    seize_holdings(world, rng, rows, officer)
    _record_cases(world, rng, rows, charge)

    jus = world.scenario.justice
    convicted = rng.random(rows.size) < jus.conviction_rate
    wk.count("acquittals", "police", s[~convicted], 1.0, "recorded")
    cooperate = (role >= RETAIL) | pooled
    rate = jus.protected_cooperation if jus.witness_protection else jus.cooperation_rate
    cooperate &= rng.random(rows.size) < rate
    wk.count("cooperations", "retail", s[cooperate], 1.0)
    years = sentences()[charge, cat] * np.maximum(0.0, 1.0 + jus.sentence_spread * rng.standard_normal(rows.size))
    years += bribery * world.scenario.anticorruption.bribery_years
    # assumption: without witness protection 1 in 10 cooperating witnesses gets a procedural agreement (L1960)
    years[cooperate & (rng.random(rows.size) < 0.1 + 0.9 * jus.witness_protection)] *= PLEA_FACTOR
    years[~convicted] = 0.0
    for lv in range(4):
        sel = convicted & (charge == lv)
        wk.count("convictions", CHARGE_LEVEL[lv], s[sel], 1.0, "recorded")
        wk.count("sentence_years", CHARGE_LEVEL[lv], s[sel], years[sel], "recorded")
    wk.count("convictions_pooled", "user", s[convicted & pooled], 1.0)
    wk.count("convictions_dealers", "retail", s[convicted & (charge != POSSESSION)], 1.0)
    seller = convicted & (role >= RETAIL)  # dealers, not pool buyers or users framed as distributors (SF9b)
    wk.count("convictions_sellers", "retail", s[seller], 1.0)
    # a prior term: read before prison.admit counts this one
    wk.count("convictions_sellers_prior", "retail", s[seller & (p.convictions[rows] > 0)], 1.0)
    wk.count("sentence_years_protected", "wholesale", s[convicted & protected & (role == WHOLESALE)],
             years[convicted & protected & (role == WHOLESALE)])
    wk.count("convictions_protected", "wholesale", s[convicted & protected & (role == WHOLESALE)], 1.0)
    _seller_risk(world, role, s, years)
    world.log("arrest", person=rows, place=p.region[rows], substance=s, value=charge, role=role, cause=cause)
    jailed = rows[years > 0]
    world.log("conviction", person=jailed, place=p.region[jailed], substance=p.substance[jailed],
              value=years[years > 0], role=role[years > 0])
    witnesses = rows[cooperate]
    _leave_market(world, rng, jailed, years[years > 0])
    if witnesses.size:
        _testify(world, rng, witnesses)


def _seller_risk(world: World, role: np.ndarray, substance: np.ndarray, years: np.ndarray) -> None:
    """Arrests and prison years of domestic sellers by price tier: the risk prices compensate (7.6)."""
    tier = np.select([role == RETAIL, role >= WHOLESALE], [0, 1], -1)  # prices.TIER_ROLES
    sel = tier >= 0
    scatter_add(world.week.seller_arrests, (tier[sel], substance[sel]), 1.0)
    scatter_add(world.week.seller_years, (tier[sel], substance[sel]), years[sel])


def _record_cases(world: World, rng: np.random.Generator, rows: np.ndarray, charge: np.ndarray) -> None:
    """Registered crimes: one per arrest, plus a case for each extra controlled purchase of a dealer
    (M41a, L1910); recorded arrests by the level of the charge, not of the person."""
    p, pol, wk = world.people, world.scenario.policing, world.week
    s = p.substance[rows]
    dealer = charge != POSSESSION
    extra = rng.poisson(pol.test_purchases * pol.quota_pressure, rows.size) * dealer
    register_cases(world, p.region[rows], s, 1.0 + extra, dealer)
    for lv in range(4):
        wk.count("arrests", CHARGE_LEVEL[lv], s[charge == lv], 1.0, "recorded")
    framed = (p.role[rows] == USER) & (charge == ORGANISED) & ~pool_buyers(world, rows)
    wk.count("framed_cases", "user", s[framed], 1.0, "recorded")


def register_cases(world: World, region: np.ndarray, substance: np.ndarray, crimes: np.ndarray,
                   dealer: np.ndarray) -> None:
    """Registered crimes of people charged, by drug and region; those charged with sale, organised sale or
    smuggling (`dealer`) also count as prosecuted dealers and their crimes as sale crimes (SF34). A courier
    caught at a crossing is one such crime in the crossing's region (no controlled purchases: he is caught
    with the lot)."""
    wk = world.week
    wk.count("registered_crimes", "police", substance, crimes, "recorded")
    wk.count("sale_crimes", "police", substance[dealer], crimes[dealer], "recorded")
    scatter_add(wk.registered, (region, substance), crimes)
    wk.count("dealers_prosecuted", "police", substance[dealer], 1.0, "recorded")


def seize_holdings(world: World, rng: np.random.Generator, rows: np.ndarray, officer: np.ndarray) -> None:
    """Take the stock of arrested people; a dealing officer resells part of it to a wholesaler of the
    region (it stays in the market) and records the rest."""
    p, wk, led = world.people, world.week, world.ledger
    grams, pure = p.stock_g[rows].copy(), p.pure_g[rows].copy()
    s = p.substance[rows]
    p.stock_g[rows] = 0.0
    p.pure_g[rows] = 0.0
    dealing = (officer >= 0) & (world.officers.mode[np.maximum(officer, 0)] == DEALER)
    share = np.where(dealing, world.scenario.corruption.resold_share, 0.0)
    heir = _resale_buyers(world, rng, rows) if dealing.any() else np.full(rows.size, -1)
    share[heir < 0] = 0.0
    back = grams * share
    scatter_add(p.stock_g, heir[share > 0], back[share > 0])
    scatter_add(p.pure_g, heir[share > 0], (pure * share)[share > 0])
    led.seized_bulk += float((grams - back).sum())
    led.seized_pure += float((pure * (1 - share)).sum())
    wk.count("seizures_total_g", "police", s, grams)
    wk.count("seizures_total_g", "police", s, grams - back, "recorded")
    wk.count("resold_seizures_g", "police", s, back)


def _resale_buyers(world: World, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    p = world.people
    wh = p.rows(WHOLESALE)
    wh = wh[~np.isin(wh, rows)]
    return random_member(rng, p.market[rows].astype(np.int64), wh,
                         p.market[wh].astype(np.int64), world.geo.n * 3)


def seize_lots(world: World, hit: np.ndarray, recorded: bool) -> None:
    """Seize the lots of mask `hit` (Koknar raids, border searches): out of the market and the ledger."""
    lots, wk, led = world.lots, world.week, world.ledger
    s, g = lots.substance[hit], lots.bulk_g[hit]
    led.seized_bulk += float(g.sum())
    led.seized_pure += float(lots.pure_g[hit].sum())
    wk.count("seizures_total_g", "police", s, g)
    if recorded:
        wk.count("seizures_total_g", "police", s, g, "recorded")
    node = world.geo.route_nodes[lots.route[hit], lots.pos[hit]]
    world.log("seizure", person=lots.owner[hit], place=node, substance=s, grams=g, value=lots.cover[hit])


def end_deals_by_arrest(world: World, clients: np.ndarray) -> None:
    """The protection deals of `clients` end with the arrest of the client or of his protector (SF27), counted
    all together and, apart, those standing since before the reform's switch, the dyads SF27b follows."""
    p = world.people
    dealt = clients[p.protector[clients] >= 0]
    world.week.count("deals_ended_by_arrest", "wholesale", p.substance[dealt], 1.0)
    cohort = dealt[p.deal_since[dealt] < world.t_of(REFORM_SWITCH)]
    world.week.count("switch_deals_ended_by_arrest", "wholesale", p.substance[cohort], 1.0)
    p.protector[clients] = -1


def _leave_market(world: World, rng: np.random.Generator, rows: np.ndarray, years: np.ndarray) -> None:
    """The convicted leave the market for prison: careers end, teams are orphaned, traffickers are
    replaced from the wholesalers of their drug (M19), protection deals end."""
    p = world.people
    if rows.size == 0:
        return
    dealers = rows[p.role[rows] != USER]
    careers.count_exits(world, dealers, log=False)
    traffickers = rows[p.role[rows] == TRAFFICKER]
    end_deals_by_arrest(world, rows)
    p.flags[rows] &= NOT_LEADER  # a jailed leader's runners are placed again as orphans
    prison.admit(world, rows, years)
    if traffickers.size:
        careers.replace_traffickers(world, rng, traffickers)


def _testify(world: World, rng: np.random.Generator, witnesses: np.ndarray) -> None:
    """A cooperating witness names his supplier; the case stands with `testimony_conviction` (M37, M43)."""
    p = world.people
    sup = p.supplier[witnesses]
    pooled = (p.role[witnesses] == USER)
    talks = (sup >= 0) & ~pooled
    talks[talks] = ~relations.silent(world, witnesses[talks], sup[talks])
    sup = sup[talks]
    leader = (p.role[sup] == RETAIL) & ((p.flags[sup] & LEADER) != 0)  # a runner knows only his leader (L1962)
    sup = sup[(p.status[sup] == ACTIVE) & ((p.role[sup] == WHOLESALE) | leader)]
    named = sup[rng.random(sup.size) < world.scenario.justice.testimony_conviction]
    upper = p.role[named] == WHOLESALE
    world.week.count("testimony_arrests", "wholesale", p.substance[named[upper]], 1.0)
    world.week.count("testimony_arrests", "retail", p.substance[named[~upper]], 1.0)
    if named.size:
        arrest(world, rng, named, "testimony")

