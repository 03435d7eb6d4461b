"""Policing: quota-driven case making aimed at the most exposed people, and the Koknar operation.

- Drug officers must produce about one or two arrests a month (thesis L1916 [P20]); a region's
  weekly arrests are drawn from its serving officers' quotas, new officers being less able (M58).
- Police start from what is visible (M33, M34, L966, L978): a person's chance to be picked rises
  with his exposure, the distinct counterparties who know about him ("sell 25 tomatoes to one
  person", M3), and a pool's buyer is the visible "distributor" (M35, L1084 [P11]). Under quality
  evaluation (`quota_pressure` 0, S5) the level of the target counts instead.
- Police pick the cases they can prove: against wholesalers and traffickers proof is "almost
  impossible to document" (M38, L1962 [P22]), and operations against them need approvals along
  which the target may be warned (M40, L1970 [P13]). The quota counts criminal cases, so a person whose
  holding is no crime to possess weighs only by the chance he is framed or his sale documented
  (`justice.case_chance`, L1616, L1624 [DE2], L1786).
- Protected teams are spared and their customers handed over instead (M50, L1620 [DE2]); or, by choice
  (`corruption.team_shield_ratio`, docs/open-decisions.md decision 10), the wholesaler gives up his own retail
  dealers (L978, L1606 [DE11]).
- Every year, during the harvest, the Koknar operation takes part of the Chu Valley crop (M47, L1341).
- A violent dispute the police notice brings a crackdown on its parties and their trade partners in
  the region, whoever was responsible (M45, L844 [P13]); `relations` calls it when a dispute turns violent.
Arrested people go to `justice`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from northroute.processes import corruption, justice, kernels
from northroute.world.arrays import apportion
from northroute.world.officers import CUSTOMS, DISMISSED, LINE, MANAGER, PATROL, SERVING, UBN
from northroute.world.people import ACTIVE, HEROIN, RETAIL, TRAFFICKER, USER, WHOLESALE, People
from northroute.world.state import WEEKS_PER_YEAR, World
from northroute.world.ties import TRADE

TARGET_STEP_WEEKS = 4  # assumption (timing): targets re-weighed monthly, when exposure is re-measured (record.MONTHLY)
EXPERIENCE_WEEKS = 52.0  # assumption: a new officer makes half the cases of one with a year's experience
ROLES = (USER, RETAIL, WHOLESALE, TRAFFICKER)
PATROL_SHARE = 0.3  # assumption: share of drug-case officers who are patrol police (street arrests, M51)


@dataclass
class Targets:
    """Candidates of one month grouped by region, with cumulative weights for weekly draws."""

    rows: np.ndarray
    cum: np.ndarray  # cumulative weight over rows
    first: np.ndarray  # per region: position of its first row
    count: np.ndarray  # per region: number of rows
    total: np.ndarray  # per region: summed weight

    @property
    def start(self) -> np.ndarray:
        """Per region: cumulative weight before its first row."""
        return np.cumsum(self.total) - self.total

    def pick_uniform(self, rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
        """A candidate of each given region picked with equal chances (-1 where the region has none)."""
        n = self.count[region]
        out = np.full(region.size, -1, np.int64)
        ok = n > 0
        out[ok] = self.rows[self.first[region[ok]] + (rng.random(int(ok.sum())) * n[ok]).astype(np.int64)]
        return out


def provable(world: World) -> np.ndarray:
    """Chance a case against each role can be documented (M38), lower when officers avoid contact
    with dealers for fear of looking corrupt (M58)."""
    pol, chill = world.scenario.policing, world.scenario.anticorruption.chill
    return np.array([1.0, pol.provable_retail, pol.provable_wholesale * (1 - chill),
                     pol.provable_trafficker * (1 - chill)])


def team_protected(p: People, retail: np.ndarray) -> np.ndarray:
    """Whether each retail dealer's wholesaler (directly or through his leader) has police protection
    (M50: 'closed their eyes')."""
    boss = p.boss(retail)
    return (boss >= 0) & (p.protector[np.maximum(boss, 0)] >= 0)


def weigh_targets(world: World) -> Targets:
    """Who the police would pick this month: visibility (counts) or level (quality), times the chance
    of making the case stick; protected wholesalers and their teams are spared (shield) and their
    customers given up instead (runner_boost, M50). With `team_shield_ratio` above 1 / shield a protected
    wholesaler gives his own retail dealers up instead (L978, L1606; decision 10 (b), off by default)."""
    p, pol, cor = world.people, world.scenario.policing, world.scenario.corruption
    rows = np.concatenate([p.rows(r) for r in ROLES])
    # a protector dismissed since the last corruption step shields nobody, though his deals end only there
    protector = p.protector.copy()
    deal = np.flatnonzero(protector >= 0)
    protector[deal[world.officers.status[protector[deal]] != SERVING]] = -1
    out, cum, first, count, total = kernels.target_weights(
        rows, p.region, p.role, p.status, p.exposure, p.pool, p.supplier, protector, world.geo.n, pol.quota_pressure,
        pol.level_value, provable(world), justice.case_chance(world, rows), pol.pool_visibility, cor.shield,
        cor.shield * cor.team_shield_ratio, cor.runner_boost)
    return Targets(out, cum, first, count, total)


def capacity(world: World) -> np.ndarray:
    """Arrests a week each region's serving drug officers must produce (M33, L1916 [P20])."""
    off = world.officers
    line = off.drug_police(rank=LINE)
    experience = 0.5 + 0.5 * np.minimum(1.0, (world.t - off.since[line]) / EXPERIENCE_WEEKS)
    per_week = world.scenario.policing.quota_per_month * 12.0 / WEEKS_PER_YEAR
    return np.bincount(off.place[line], experience * per_week, world.geo.n)


def draw_targets(world: World, rng: np.random.Generator, targets: Targets) -> np.ndarray:
    """This week's arrests: a Poisson number per region, each a weighted draw from its candidates."""
    n = rng.poisson(capacity(world) * (targets.total > 0))
    region = np.repeat(np.arange(n.size), n)
    if region.size == 0:
        return np.zeros(0, np.int64)
    u = targets.start[region] + rng.random(region.size) * targets.total[region]
    idx = np.minimum(np.searchsorted(targets.cum, u, side="right"), targets.rows.size - 1)
    return np.unique(targets.rows[idx])


def leak_survival(world: World, role: np.ndarray) -> np.ndarray:
    """Chance an operation is not betrayed along its approval chain (M40); only upper tiers need one."""
    pol = world.scenario.policing
    keep = (1.0 - pol.leak_per_step) ** pol.approval_steps
    return np.where(role >= WHOLESALE, keep, 1.0)


def koknar(world: World, rng: np.random.Generator) -> None:
    """Seize part of the cannabis lots leaving the Chu Valley during the harvest-time operation (M47)."""
    pol, s = world.scenario.policing, world.scenario.supply
    season = {(s.harvest_start_month - 1 + k) % 12 + 1 for k in range(s.harvest_months)}
    if not pol.koknar or world.date.month not in season:  # the raids follow the harvest (assumption)
        return
    lots, geo = world.lots, world.geo
    at_chu = (geo.route_nodes[lots.route, lots.pos] == geo.index("CHU")) & (lots.substance != HEROIN)
    hit = at_chu & (rng.random(len(lots)) < pol.koknar_share)
    if hit.any():
        justice.seize_lots(world, hit, recorded=True)
        lots.keep(~hit)


def trade_partners(world: World, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(who, partner) pairs: each person's supplier, the retail dealers he supplies, and those he traded
    lots with within the trade-tie memory (traffickers and wholesalers); active dealers of his region only."""
    p = world.people
    sup = p.supplier[rows]
    rd = p.rows(RETAIL)
    supplied = rd[np.isin(p.supplier[rd], rows)]
    traded, other = world.ties.neighbours(rows, (TRADE,), len(p)) if len(world.ties) else (rows[:0], rows[:0])
    who = np.concatenate([rows[sup >= 0], p.supplier[supplied], traded]).astype(np.int64)
    partner = np.concatenate([sup[sup >= 0], supplied, other]).astype(np.int64)
    ok = (p.status[partner] == ACTIVE) & (p.role[partner] != USER) & (p.region[partner] == p.region[who])
    return who[ok], partner[ok]


def crackdown(world: World, rng: np.random.Generator, party: np.ndarray, other: np.ndarray) -> None:
    """Violent disputes between `party` and `other` (pairwise) that the police notice, with chance
    `policing.crackdown_chance`, end in the arrest of both parties and their trade partners in the region:
    "we will pack all of them. No one will get into nuts and bolts and try to figure out who was
    responsible ... Every single one" [P13] (L844, M45). The arrests go through `justice` like any other,
    so sentences, prison and the arresting officers' case counts include them."""
    noticed = rng.random(party.size) < world.scenario.policing.crackdown_chance
    parties = np.unique(np.concatenate([party[noticed], other[noticed]]))
    if parties.size == 0:
        return
    p = world.people
    rows = np.unique(np.concatenate([parties, trade_partners(world, parties)[1]]))
    rows = rows[p.status[rows] == ACTIVE]
    world.week.count("crackdowns", "police", p.substance[party[noticed]], 1.0)
    world.week.count("crackdown_arrests", "police", p.substance[rows], 1.0)
    justice.arrest(world, rng, rows, "crackdown")


def build_force(world: World, rng: np.random.Generator) -> None:
    """Drug officers spread over regions by population, one manager per region, customs officers
    spread over crossings by inspection capacity (all scaled with the population)."""
    geo, pol, scale = world.geo, world.scenario.policing, world.scale
    pop = np.zeros(geo.n)
    pop[geo.regions] = np.nan_to_num(geo.population[geo.regions])
    n_drug = apportion(pol.drug_officers * scale, pop[geo.regions])
    patrol = (rng.random(n_drug.sum()) < PATROL_SHARE).astype(np.int8)
    place = np.repeat(geo.regions, n_drug)
    corruption.hire(world, rng, np.where(patrol == 1, PATROL, UBN), np.full(place.size, LINE), place)
    corruption.hire(world, rng, np.full(geo.regions.size, UBN), np.full(geo.regions.size, MANAGER), geo.regions)
    cap = np.nan_to_num(geo.inspections_per_day)
    crossings = np.flatnonzero(cap > 0)
    n_cus = apportion(pol.customs_officers * scale, cap[crossings])
    place = np.repeat(crossings, n_cus)
    corruption.hire(world, rng, np.full(place.size, CUSTOMS), np.full(place.size, LINE), place)
    world.customs_corrupt = np.zeros(geo.n)
    if scale < 1.0:  # which managers take clients differs by seed (corruption.takes_clients); no draw nationally
        world.manager_phase = float(rng.random())
    # assumption: tenures capped at 30 years, about the length of a police career
    years = np.minimum(rng.exponential(1.0 / max(pol.officer_turnover, 1e-3), len(world.officers)), 30.0)
    world.officers.since[:] = world.t - (years * WEEKS_PER_YEAR).astype(np.int32)  # tenures at the turnover rate


def turnover(world: World, rng: np.random.Generator) -> None:
    """Officers leave for ordinary reasons and are replaced by new, inexperienced hires (monthly)."""
    off = world.officers
    serving = off.serving()
    rate = 1.0 - np.exp(-world.scenario.policing.officer_turnover * TARGET_STEP_WEEKS / WEEKS_PER_YEAR)
    gone = serving[rng.random(serving.size) < rate]
    off.status[gone] = DISMISSED
    world.week.count("officers_left", "police", None, gone.size)
    corruption.hire(world, rng, off.agency[gone], off.rank[gone], off.place[gone])


def init(world: World, rng: np.random.Generator) -> None:
    build_force(world, rng)
    world.targets = weigh_targets(world)


def step(world: World, rng: np.random.Generator) -> None:
    if world.t % TARGET_STEP_WEEKS == 0 or world.targets is None:
        world.targets = weigh_targets(world)
        turnover(world, rng)
    koknar(world, rng)
    p = world.people
    picked = draw_targets(world, rng, world.targets)
    picked = picked[p.status[picked] == ACTIVE]
    role = p.role[picked].astype(np.intp)
    case = rng.random(picked.size) < leak_survival(world, role)
    world.week.count("operations_burned", "police", p.substance[picked[~case]], 1.0)
    justice.arrest(world, rng, picked[case], "quota")
