"""Corruption: officers weigh bribes against risk, protect wholesalers, extort users, wave trucks through.

- Each month an officer compares the illicit income he expects with the expected cost: the chance of
  detection times the prison term and the career he would lose, plus the informal condemnation of
  drug corruption as "stryom" (M56, M55; thesis L1558, L1576, L1746, L1758), which is lower in Almaty and
  South Kazakhstan and higher in the northern exit regions (SF26; L621, Van Dijk et al. 2018). Pay rises
  lower the pull of bribes (L1572-1574 [P10]); a corrupt regional director raises it (M54, L1658-1660).
  Under manager liability an honest director watches his men, because their convictions cost him his post
  (L1704, L1696, L1662-1664 [P20]): his line officers add the chance he fires them to their expected cost. A
  liable manager also counts the chance that one of his corrupt men is convicted and costs him his post,
  which he avoids by turning honest, pressing no one and watching his men (L1704, L1658-1660).
- Police approach the dealers, not the reverse, and dealers "hardly ever refuse" (M49; L1592-1594
  [DE1][DE2], L1626); a protector takes a share of his wholesalers' takings (L1710 [P19]), and when he
  stops he may sacrifice them "to divert suspicion from [himself]" (M52, L1112 [O9]). Kin
  wholesalers, who never betray their protectors (L884 [P20], L890), are approached first.
- Patrol officers near selling points take users' money "for gasoline" (M51; L1590 [O3], L1634 [DE3]).
- Some corrupt drug officers deal seized drugs themselves (L1630, L1634): see `justice.seize_holdings`.
- Corrupt customs officers wave some vehicles through (M48; L1072 [DE3], L1540).
"""

from __future__ import annotations

import numpy as np

from northroute.processes import justice, prices, relations
from northroute.processes.matching import fill_slots, slots
from northroute.world.arrays import scatter_add
from northroute.world.officers import (
    CUSTOMS,
    DEALER,
    EXTORTIONIST,
    HONEST,
    LINE,
    MANAGER,
    PATROL,
    PROTECTOR,
    SERVING,
    UBN,
)
from northroute.world.people import ACTIVE, USER, WHOLESALE
from northroute.world.state import World

STEP_WEEKS = 4  # assumption (timing convention): officers re-weigh their choices monthly
TURN_RATE = 0.25  # assumption: a quarter of the officers who would turn corrupt do so each month
QUIT_RATE = 0.05  # assumption: leaving is slow; dealers and officers hold each other (L862, L1624 [DE2], L1600 [O2])
CAREER_MONTHS = 120.0  # assumption: a convicted officer also loses about ten years of pay and pension
DEALER_SHARE = 0.2  # assumption: share of corrupt drug officers who deal seized drugs (L1630, L1634)
GOLDEN = 0.6180339887498949  # fractional part of the golden ratio: (row x GOLDEN) mod 1 spreads rows evenly over [0, 1)


def hire(world: World, rng: np.random.Generator, agency: np.ndarray, rank: np.ndarray, place: np.ndarray) -> None:
    """New honest officers, each with his own moral cost of corruption: exponential, with mean `norm_cost`
    scaled by his place's corruption level, since corruption is regional, lowest in the northern exit
    regions and highest in Almaty and South Kazakhstan (SF26; L621, L1654, L1756)."""
    c = world.scenario.corruption
    mean = c.norm_cost * (1.0 + c.regional_spread) ** -world.geo.corruption_level[place].astype(float)
    world.officers.append(agency.size, agency=agency, rank=rank, place=place, status=SERVING, since=world.t,
                          norm=rng.exponential(mean))


def expected_cost(world: World) -> float:
    """Expected monthly cost of corruption in salaries: P(detection) x (prison + lost career) (M56)."""
    a = world.scenario.anticorruption
    return a.detect_rate / 12.0 * (a.sentence_years * 12.0 + CAREER_MONTHS)


def supervision_rate(world: World) -> float:
    """Yearly rate at which an honest manager who answers for his subordinates fires a corrupt line officer
    of his region (SF28). His stake is the chance that one of his men is convicted (detect_rate) and that
    this costs him his post (manager_liability, L1704); he watches in proportion (`supervision`, assumption)."""
    a = world.scenario.anticorruption
    return a.supervision * a.manager_liability * a.detect_rate


def manager_is(world: World, honest: bool) -> np.ndarray:
    """Per place: the region has a serving manager who is honest (or, with honest=False, corrupt)."""
    off = world.officers
    mgr = off.serving(rank=MANAGER)
    out = np.zeros(world.geo.n, bool)
    out[off.place[mgr[(off.mode[mgr] == HONEST) == honest]]] = True
    return out


def liability_stake(world: World) -> np.ndarray:
    """Per place: a liable manager's expected monthly loss, in salaries, if his men stay as they are: the
    chance that one of his corrupt UBN or patrol line officers is convicted this month times
    manager_liability times the career he would lose (L1704). He escapes it by turning honest: he stops
    pressing his men (M54) and watches them (`supervision_rate`)."""
    off, a = world.officers, world.scenario.anticorruption
    if a.manager_liability == 0:
        return np.zeros(world.geo.n)
    corrupt = off.corrupt()
    corrupt = corrupt[(off.rank[corrupt] == LINE) & (off.agency[corrupt] != CUSTOMS)]
    men = np.bincount(off.place[corrupt], minlength=world.geo.n)
    return a.manager_liability * -np.expm1(-a.detect_rate / 12.0 * men) * CAREER_MONTHS


def watched(world: World, rows: np.ndarray) -> np.ndarray:
    """Which of these officers are UBN or patrol line officers under an honest regional manager: the ones a
    liable manager supervises (customs officers sit at crossings and have no manager)."""
    off = world.officers
    police_line = (off.rank[rows] == LINE) & (off.agency[rows] != CUSTOMS)
    return police_line & manager_is(world, honest=True)[off.place[rows]]


def decide(world: World, rng: np.random.Generator, turn_rate: float = TURN_RATE) -> None:
    """Officers for whom bribes outweigh the expected cost turn corrupt; those for whom they no longer do
    stop, more slowly (M56)."""
    off, c = world.officers, world.scenario.corruption
    serving = off.serving()
    boss = manager_is(world, honest=False)
    pressure = np.where(off.rank[serving] == LINE, 1.0 + c.manager_pressure * boss[off.place[serving]], 1.0)
    gain = c.bribe_gain * pressure / world.scenario.anticorruption.salary_index
    # a liable honest manager fires the corrupt men he finds: they lose their career, not their liberty
    fired = watched(world, serving) * (supervision_rate(world) / 12.0 * CAREER_MONTHS)
    # a liable manager answers for his corrupt men (L1704)
    liable = np.where(off.rank[serving] == MANAGER, liability_stake(world)[off.place[serving]], 0.0)
    want = gain > expected_cost(world) + fired + liable + off.norm[serving]
    draw = rng.random(serving.size)
    honest = off.mode[serving] == HONEST
    turn = serving[want & honest & (draw < turn_rate)]
    agency = off.agency[turn]
    mode = np.where(agency == PATROL, EXTORTIONIST, PROTECTOR)
    mode[(agency == UBN) & (off.rank[turn] == LINE) & (rng.random(turn.size) < DEALER_SHARE)] = DEALER
    off.mode[turn] = mode
    off.corrupt_since[turn] = world.t
    off.mode[serving[~want & ~honest & (draw < QUIT_RATE)]] = HONEST
    customs = off.serving(agency=CUSTOMS)
    corrupt = np.bincount(off.place[customs], off.mode[customs] != HONEST, world.geo.n)
    world.customs_corrupt = np.divide(corrupt, np.bincount(off.place[customs], minlength=world.geo.n),
                                      out=np.zeros(world.geo.n), where=corrupt > 0)


def protection_deals(world: World, rng: np.random.Generator) -> None:
    """Deals end when the protector stops or leaves; a protector who stops may hand his clients over to be
    arrested (M52); protectors with room approach unprotected wholesalers of their region (M49)."""
    p, off, c = world.people, world.officers, world.scenario.corruption
    wh = p.rows(WHOLESALE)
    prot = p.protector[wh]
    has = prot >= 0
    ended = has.copy()
    ended[has] = (off.status[prot[has]] != SERVING) | ((off.mode[prot[has]] != PROTECTOR)
                                                       & (off.mode[prot[has]] != DEALER))
    sacrifice(world, rng, wh[ended & (off.status[np.maximum(prot, 0)] == SERVING)])
    p.protector[wh[ended]] = -1
    relations.turn_to_vory(world, rng, wh[ended])
    wh = p.rows(WHOLESALE)  # without the clients just handed over and jailed
    ubn = off.serving(agency=UBN)
    protectors = ubn[((off.mode[ubn] == PROTECTOR) | (off.mode[ubn] == DEALER)) & takes_clients(world, ubn)]
    clients = np.bincount(p.protector[wh][p.protector[wh] >= 0], minlength=len(off))
    open_slots = slots(protectors, c.clients_per_protector - clients[protectors])
    free = rng.permutation(wh[(p.protector[wh] < 0) & (rng.random(wh.size) < c.accept_rate)])
    free = clients_first(world, free)
    officer = fill_slots(rng, p.region[free].astype(np.int64), open_slots,
                         off.place[open_slots].astype(np.int64), world.geo.n)
    p.protector[free[officer >= 0]] = officer[officer >= 0]
    p.deal_since[free[officer >= 0]] = world.t
    world.log("protection_deal", person=free[officer >= 0], place=p.region[free[officer >= 0]],
              substance=p.substance[free[officer >= 0]], value=officer[officer >= 0])


def takes_clients(world: World, rows: np.ndarray) -> np.ndarray:
    """Which of these officers may take wholesalers as clients: every line officer, and a share `scale` of the
    managers. A run at scale s has s of the line officers but all 16 regional managers, so with every manager
    protecting, managers held about a fifth of the protection deals at scale 0.1 against 4% nationally, and the
    reform's takedown of clients (7.12) was twice the national one (session 38). The managers who may are picked
    by a low-discrepancy sequence over their rows, started at the run's `manager_phase` (drawn at hiring), so
    the choice stays with an officer from month to month, differs by seed and needs no monthly draw; at scale 1
    all may. Their other roles (pressure, liability, approval) stay with every manager."""
    manager = world.officers.rank[rows] == MANAGER
    if world.scale >= 1.0 or not manager.any():
        return np.ones(rows.size, bool)
    return ~manager | (np.modf(rows * GOLDEN + world.manager_phase)[0] < world.scale)


def sacrifice(world: World, rng: np.random.Generator, clients: np.ndarray) -> None:
    """Clients of protectors who have just stopped protecting (they still serve): each is handed over with
    chance `corruption.sacrifice`, "to divert suspicion" from the officer (M52, L1112 [O9]), and arrested
    as any dealer is (`justice.arrest`); the deal thus ends in an arrest. No draw at 0, so runs without the
    rule keep their random streams."""
    if world.scenario.corruption.sacrifice == 0 or clients.size == 0:
        return
    handed = clients[rng.random(clients.size) < world.scenario.corruption.sacrifice]
    world.week.count("sacrificed", "wholesale", world.people.substance[handed], 1.0)
    justice.arrest(world, rng, handed, "handed_over")


def clients_first(world: World, free: np.ndarray) -> np.ndarray:
    """Wholesalers in the order protectors take them on: kin first (stable, so random within each
    part) when `relations.kin_clients_first`. Kin "never betray each other or the corrupt police who
    protected them" (L884 [P20]) and never testified against them (L890): the safest clients (M24, M49)."""
    if not world.scenario.relations.kin_clients_first:
        return free
    return free[np.argsort(world.people.kin[free] < 0, kind="stable")]


def pay_protection(world: World) -> None:
    """Protected wholesalers pay their share of a month's takings (L1710 [P19])."""
    p, off = world.people, world.officers
    wh = p.rows(WHOLESALE)
    wh = wh[p.protector[wh] >= 0]
    takings = STEP_WEEKS * prices.takings(world, wh)
    paid = np.minimum(np.maximum(p.cash[wh], 0.0), world.scenario.corruption.protection_share * takings)
    p.cash[wh] -= paid
    scatter_add(off.illicit, p.protector[wh], paid)
    world.week.count("bribes_kzt", "police", None, paid.sum())
    world.week.count("protection_kzt", "wholesale", p.substance[wh], paid)


def extort(world: World, rng: np.random.Generator) -> None:
    """Each extorting patrol officer robs a few users of his region (M51); a draw that meets a dealer
    instead of a user is lost."""
    p, off, c = world.people, world.officers, world.scenario.corruption
    ext = off.serving(agency=PATROL)
    ext = ext[off.mode[ext] == EXTORTIONIST]
    if ext.size == 0:
        return
    n = rng.poisson(c.extortions_per_week * STEP_WEEKS, ext.size)
    officer = np.repeat(ext, n)
    victim = world.targets.pick_uniform(rng, off.place[officer].astype(np.int64))
    ok = (victim >= 0) & (p.role[np.maximum(victim, 0)] == USER) & (p.status[np.maximum(victim, 0)] == ACTIVE)
    victim = np.where(ok, victim, -1)
    officer, victim = officer[victim >= 0], victim[victim >= 0]
    taken = np.minimum(np.maximum(p.cash[victim], 0.0), c.extortion_kzt)
    scatter_add(p.cash, victim, -taken)
    scatter_add(off.illicit, officer, taken)
    world.week.count("extortion_kzt", "police", None, taken.sum())


def init(world: World, rng: np.random.Generator) -> None:
    """The 2012 force starts in the state its officers' choices lead to (no transient)."""
    decide(world, rng, turn_rate=1.0)
    protection_deals(world, rng)


def step(world: World, rng: np.random.Generator) -> None:
    if world.t % STEP_WEEKS:
        return
    decide(world, rng)
    protection_deals(world, rng)
    pay_protection(world)
    extort(world, rng)
