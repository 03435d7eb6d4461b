"""Careers in the trade: who deals, who supplies whom, who moves up and who leaves.

- Wholesalers deal directly with a few retail dealers only (`relations.contact_cap`, 6-8 in thesis
  L1022 [P23]; M4, M5) and recruit users to fill their teams, preferring users who cannot finance
  their habit (M31, L690 [P32]), are not too addicted (M28, L982 [P26]) and have a circle of co-users
  who become their customers (M28, M30, L974).
- Users who cannot finance their habit start dealing (M31, L690 [P32]): they look for work and fill a
  wholesaler's vacancies before he recruits (`_start_spells`); a spell ends as any retail career does.
- Mid-level "leaders" (L1962 [P22]): beyond his direct team of `population.retail_per_wholesaler`,
  up to a share `market.leader_share` of a wholesaler's retail dealers get their stock from one of his
  senior direct dealers, a leader, instead of from him; the newest of his direct dealers are the ones
  put under a leader (M5: an intermediate circle as a buffer, L1026 [P25]; M29: recruits work through
  the one who "said a word for them", L1034).
- When a region's users outgrow its dealers and no wholesaler has room, a retail dealer with years
  in the trade moves up to wholesale (M19, L1012 [DE7][P22][P21]) if someone with an "exit" to the
  weight introduces him (M14; `relations.find_introducers`); the introducer may vouch (M15).
- Retail dealers stop dealing at a base rate, faster early in their career when `users.early_quit_rate`
  is set (off by default; L1652 [DE2]), and faster when they sell almost nothing (M32, L986);
  sanctioned cheats are dropped at once (M17). Wholesalers leave at a low rate (upper-level traders
  were active 10-15 years, L1024 [P23]) or when shunned for cheating. Arrest comes with the
  policing issue.
Stock never vanishes when someone leaves: a retail dealer's goods go back to the wholesaler who
consigned them, a wholesaler's to another wholesaler of the region.
"""

from __future__ import annotations

import numpy as np

from northroute.processes import relations
from northroute.processes.matching import fill_slots, random_member, slots, top_k_per_group
from northroute.processes.prices import cutting
from northroute.processes.users import cannot_finance, reassign_dealers
from northroute.world.arrays import scatter_add, stochastic_round
from northroute.world.people import (
    ACTIVE,
    EXCLUDED,
    HEROIN,
    LEADER,
    MARIJUANA,
    NOT_LEADER,
    OUT,
    RETAIL,
    TRAFFICKER,
    USER,
    WHOLESALE,
    People,
)
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World
from northroute.world.ties import PRISON as PRISON_TIE

CAREER_STEP_WEEKS = 4  # assumption: dealers meet their suppliers about monthly (thesis L1962 [P22])
RECRUIT_CAP = 0.2  # assumption: at most 20% more retail dealers per region and drug in one month
CANDIDATES_PER_PLACE = 20  # a wholesaler weighs ~20 users he comes across per opening (assumption)
IDLE_SHARE = 0.2  # assumption: a dealer selling under a fifth of the regional mean counts as idle
START_TENURE_YEARS = 5.0  # assumption: spread of career starts before 2012 for the initial dealers
RUNNERS_PER_LEADER = 5  # assumption: L1962 [P22] a leader buys 50 (sometimes 100) g a month and sells 10 g portions


def _key(p: People, rows: np.ndarray) -> np.ndarray:
    return p.market[rows]


def _active(p: People, role: int) -> np.ndarray:
    return p.rows(role)


def _team_sizes(p: People) -> np.ndarray:
    rd = _active(p, RETAIL)
    sup = p.supplier[rd]
    rd_ok = sup >= 0
    return np.bincount(sup[rd_ok], minlength=p.stock_g.size)


def init(world: World, rng: np.random.Generator) -> None:
    """Turn some users into retail dealers, add wholesalers and traffickers, and stock them."""
    p, pop, m = world.people, world.scenario.population, world.scenario.market
    size = world.geo.n * N_SUBSTANCES
    users = _active(p, USER)
    key_u = _key(p, users)
    n_users = np.bincount(key_u, minlength=size)
    n_dealers = np.where(n_users > 0, np.maximum(1, np.round(n_users / pop.users_per_retail_dealer)), 0)
    score = 1.0 - np.abs(p.addiction[users] - 0.5) * 2.0 + rng.random(users.size)
    dealers = users[top_k_per_group(key_u, score, n_dealers.astype(np.int64))]
    tenure = (rng.random(dealers.size) * START_TENURE_YEARS * WEEKS_PER_YEAR).astype(np.int32)
    p.set_role(dealers, RETAIL)
    p.since[dealers] = world.t - tenure

    direct = 1.0 - m.leader_share  # each wholesaler deals directly with his team; the rest are his leaders' runners
    n_wh = stochastic_round(n_dealers * direct / pop.retail_per_wholesaler, rng)  # unbiased at any scale
    n_wh = np.where(n_dealers > 0, np.maximum(n_wh, 1), 0)
    k = np.repeat(np.arange(size), n_wh)
    wh = p.append(k.size, role=WHOLESALE, status=ACTIVE, region=k // N_SUBSTANCES,
                  substance=k % N_SUBSTANCES, supplier=-1,
                  since=world.t - (rng.random(k.size) * 2 * START_TENURE_YEARS * WEEKS_PER_YEAR).astype(int))
    open_slots = slots(wh, np.full(wh.size, int(np.ceil(pop.retail_per_wholesaler / direct))))
    p.supplier[dealers] = fill_slots(rng, _key(p, dealers), open_slots, _key(p, open_slots), size)
    _organise(world, rng)
    reassign_dealers(world, rng)

    n_her = int(np.sum(p.substance[wh] == HEROIN))
    for group, n_group in ((HEROIN, n_her), (MARIJUANA, wh.size - n_her)):
        count = max(1, round(n_group / pop.wholesalers_per_trafficker))
        regions = world.geo.regions
        p.append(count, role=TRAFFICKER, status=ACTIVE, substance=group, supplier=-1,
                 region=regions[rng.integers(0, regions.size, count)], since=world.t)
    _stock_up(world)


def _stock_up(world: World) -> None:
    """Initial stocks and smoothed sales at the dealers' target cover, at the level's purity."""
    p, m, s = world.people, world.scenario.market, world.scenario.supply
    a = cutting(world)
    src = np.array([s.heroin_purity, s.cannabis_purity, s.cannabis_purity])
    users = _active(p, USER)
    rd, wh = _active(p, RETAIL), _active(p, WHOLESALE)
    demand = np.bincount(p.supplier[users][p.supplier[users] >= 0],
                         p.need_g[users][p.supplier[users] >= 0], p.stock_g.size)
    p.demand_ewma[rd] = demand[rd]
    p.stock_g[rd] = m.retail_cover_weeks * demand[rd] + p.need_g[rd]
    p.pure_g[rd] = p.stock_g[rd] * (src * (1 - a) ** 2)[p.substance[rd]]
    boss = p.boss(rd)
    team = np.bincount(boss[boss >= 0], ((p.demand_ewma[rd] + p.need_g[rd]) * (1 - a[p.substance[rd]]))[boss >= 0],
                       p.stock_g.size)
    p.demand_ewma[wh] = team[wh]
    p.stock_g[wh] = m.stock_cover_weeks * team[wh]
    p.pure_g[wh] = p.stock_g[wh] * (src * (1 - a))[p.substance[wh]]


def fund(world: World) -> None:
    """Start wholesalers with cash for two restocks at current prices (assumption)."""
    p, m = world.people, world.scenario.market
    wh = _active(p, WHOLESALE)
    p.cash[wh] = 2 * m.stock_cover_weeks * p.demand_ewma[wh] * world.price_wholesale[p.region[wh], p.substance[wh]]


def _leave(world: World, rng: np.random.Generator) -> None:
    p, u = world.people, world.scenario.users
    size = world.geo.n * N_SUBSTANCES
    rd = _active(p, RETAIL)
    key = _key(p, rd)
    mean_sales = np.divide(np.bincount(key, p.demand_ewma[rd], size), np.bincount(key, minlength=size),
                           out=np.zeros(size), where=np.bincount(key, minlength=size) > 0)
    idle = p.demand_ewma[rd] < IDLE_SHARE * mean_sales[key]
    early = u.early_quit_rate * np.exp(-(world.t - p.since[rd]) / u.early_quit_weeks)  # most careers are short
    hazard = (u.dealer_quit_rate + early + idle * u.idle_dealer_quit_rate) * CAREER_STEP_WEEKS / WEEKS_PER_YEAR
    excluded = (p.flags[rd] & EXCLUDED) != 0  # sanctioned cheats lose their supplier (M17)
    quit = rd[excluded | (rng.random(rd.size) < hazard)]
    sup = p.supplier[quit]
    back = ~p.orphaned(quit, WHOLESALE, via_leader=True)  # to his wholesaler or leader
    runner = back & (p.role[np.maximum(sup, 0)] == RETAIL)  # first, in case his leader leaves too
    _hand_over(p, quit[runner], sup[runner])
    _hand_over(p, quit[back & ~runner], sup[back & ~runner])
    count_exits(world, quit)
    p.flags[quit] &= NOT_LEADER  # a leader's runners are placed again as orphans
    p.set_role(quit, USER)
    p.since[quit] = world.t
    p.supplier[quit] = -1

    wh = _active(p, WHOLESALE)
    shunned = (p.flags[wh] & EXCLUDED) != 0  # "no one will ever deal with me" (L896 [DE11])
    gone = wh[shunned | (rng.random(wh.size) < u.wholesaler_exit_rate * CAREER_STEP_WEEKS / WEEKS_PER_YEAR)]
    p.set_status(gone, OUT)
    stay = _active(p, WHOLESALE)
    heir = random_member(rng, _key(p, gone), stay, _key(p, stay), size)
    _hand_over(p, gone[heir >= 0], heir[heir >= 0])
    count_exits(world, gone)


def count_exits(world: World, rows: np.ndarray, log: bool = True) -> None:
    """Add leavers' career lengths to the week's totals (before their role changes); `log` also
    writes their leaving events (arrests are logged as arrests instead)."""
    p = world.people
    weeks = world.t - p.since[rows]
    kind = {RETAIL: "stop_dealing", WHOLESALE: "leave_wholesale"}
    for role in np.unique(p.role[rows]) if log else ():
        sel = rows[p.role[rows] == role]
        world.log(kind[int(role)], person=sel, place=p.region[sel], substance=p.substance[sel],
                  value=world.t - p.since[sel])
    scatter_add(world.week.exits, (p.role[rows], p.substance[rows], 0), weeks)
    scatter_add(world.week.exits, (p.role[rows], p.substance[rows], 1), 1.0)


def replace_traffickers(world: World, rng: np.random.Generator, gone: np.ndarray) -> None:
    """A wholesaler of the same drug takes each imprisoned trafficker's place (M19: traders move up
    the chain); his retail team is placed with other wholesalers at the next career step."""
    p = world.people
    wh = _active(p, WHOLESALE)
    group = lambda rows: (p.substance[rows] != HEROIN).astype(np.int64)  # noqa: E731  cannabis traffickers
    heir = fill_slots(rng, group(gone), wh, group(wh), 2)  # a distinct heir for each place
    heir = np.sort(heir[heir >= 0])
    count_exits(world, heir)
    stay = wh[~np.isin(wh, heir)]
    taker = random_member(rng, _key(p, heir), stay, _key(p, stay), world.geo.n * N_SUBSTANCES)
    _hand_over(p, heir[taker >= 0], taker[taker >= 0])
    p.set_role(heir, TRAFFICKER)
    p.substance[heir] = np.where(p.substance[heir] == HEROIN, HEROIN, MARIJUANA)
    p.market[heir] = p.region[heir].astype(np.int32) * N_SUBSTANCES + p.substance[heir]
    p.supplier[heir] = -1
    p.protector[heir] = -1  # his protection deal was a wholesaler's
    p.since[heir] = world.t


def _hand_over(p: People, rows: np.ndarray, to: np.ndarray) -> None:
    scatter_add(p.stock_g, to, p.stock_g[rows])
    scatter_add(p.pure_g, to, p.pure_g[rows])
    p.stock_g[rows] = 0.0
    p.pure_g[rows] = 0.0


def _open_slots(world: World, team: int | None = None) -> np.ndarray:
    """One entry per place open in a wholesaler's direct team, up to `team` dealers (default: the most he
    deals with directly, `relations.contact_cap`)."""
    p = world.people
    wh = _active(p, WHOLESALE)
    return slots(wh, (world.scenario.relations.contact_cap if team is None else team) - _team_sizes(p)[wh])


def _place_orphans(world: World, rng: np.random.Generator) -> None:
    """Retail dealers whose wholesaler (or leader) left join a wholesaler of their region with room."""
    p = world.people
    orphans = p.orphans(_active(p, RETAIL), WHOLESALE, via_leader=True)
    if orphans.size:
        free = _open_slots(world)
        p.supplier[orphans] = fill_slots(rng, _key(p, orphans), free, _key(p, free),
                                         world.geo.n * N_SUBSTANCES)


def _promote(world: World, rd: np.ndarray, n_promote: np.ndarray, rng: np.random.Generator) -> None:
    """Retail dealers with years in the trade move up where the market needs wholesalers, but only
    those with an introducer (M14, when `relations.need_introducer`); the busiest first, and with
    `relations.exit_options` in proportion to their exits to the weight (M20)."""
    p, r = world.people, world.scenario.relations
    tenure = world.t - p.since[rd] >= world.scenario.users.promotion_tenure_weeks
    senior = rd[tenure & ((p.flags[rd] & EXCLUDED) == 0)]
    senior = senior[n_promote[_key(p, senior)] > 0]
    intro, how, exits = relations.find_introducers(world, senior, rng)
    if r.need_introducer:
        keep = intro >= 0
        senior, intro, how, exits = senior[keep], intro[keep], how[keep], exits[keep]
    score = p.demand_ewma[senior] * (1.0 + rng.random(senior.size)) * exit_weight(exits, r.exit_options)
    pick = top_k_per_group(_key(p, senior), score, n_promote)
    up = senior[pick]
    world.log("promote", person=up, place=p.region[up], substance=p.substance[up],
              value=world.t - p.since[up])
    p.set_role(up, WHOLESALE)
    p.flags[up] &= NOT_LEADER  # a leader who moves up keeps his runners as his direct team
    p.since[up] = world.t
    p.supplier[up] = -1
    relations.admit(world, up, intro[pick], how[pick], rng)


def exit_weight(exits: np.ndarray, options: bool) -> np.ndarray:
    """How a candidate's chance to move up grows with his exits to the weight: in proportion, each
    acquaintance at wholesale or above being one more way in ("a person who lived ... in southern
    regions, and then moved to the northern region ... will have more acquaintances", L904 [P25];
    kin who "know who sells where ... can gain access to bigger weight", L884 [DE11]; M20). At least
    1, so that without `options` (or without a known exit, where no introducer is needed) all count
    alike."""
    return np.maximum(exits, 1).astype(float) if options else np.ones(exits.size)


def _grow(world: World, rng: np.random.Generator) -> None:
    """Recruit retail dealers where users outgrow dealers; promote when wholesalers are full."""
    p, m = world.people, world.scenario.market
    size = world.geo.n * N_SUBSTANCES
    users, rd = _active(p, USER), _active(p, RETAIL)
    key_u = _key(p, users)
    n_users = np.bincount(key_u, minlength=size)
    n_rd = np.bincount(_key(p, rd), minlength=size)
    wanted = stochastic_round(n_users / m.users_per_dealer_target - n_rd, rng)
    wanted = np.minimum(wanted, np.maximum(1, np.ceil(RECRUIT_CAP * n_rd)))
    wanted = np.maximum(wanted, 0).astype(np.int64)
    if wanted.sum() == 0:
        return
    free = _open_slots(world)
    n_free = np.bincount(_key(p, free), minlength=size)
    short = np.maximum(wanted - n_free, 0)
    n_promote = stochastic_round(short / world.scenario.relations.contact_cap, rng)
    if n_promote.sum():
        _promote(world, rd, n_promote, rng)
        free = _open_slots(world)
    take = np.minimum(wanted, np.bincount(_key(p, free), minlength=size))
    look = np.minimum(1.0, CANDIDATES_PER_PLACE * take / np.maximum(n_users, 1))[key_u]
    cand = users[(look > 0) & (rng.random(users.size) < look)]
    cand = cand[(p.flags[cand] & EXCLUDED) == 0]
    in_circle = relations.circle_counts(p, users)
    mean_circle = max(float(np.dot(in_circle, in_circle)) / users.size, 1.0) if users.size else 1.0
    reach = in_circle[p.circle[cand]] / mean_circle  # co-users he could bring, against the mean user's
    # assumption: weights 1 (unmet need), 0.5 (moderate addiction), 0.5 (co-users reached, capped at 2x the mean)
    score = (1.0 - np.minimum(p.fill[cand], 1.0)) + 0.5 * (1.0 - np.abs(p.addiction[cand] - 0.5) * 2.0)
    score += 0.5 * np.minimum(reach, 2.0) + rng.random(cand.size)
    recruits = cand[top_k_per_group(_key(p, cand), score, take)]
    _hire(world, recruits, free, _mean_sales(p, rd, size), rng)


def _mean_sales(p: People, rd: np.ndarray, size: int) -> np.ndarray:
    """Mean smoothed sales of the retail dealers `rd` in each market."""
    key = _key(p, rd)
    n_rd = np.bincount(key, minlength=size)
    return np.divide(np.bincount(key, p.demand_ewma[rd], size), n_rd, out=np.zeros(size), where=n_rd > 0)


def _hire(world: World, recruits: np.ndarray, free: np.ndarray, mean_sales: np.ndarray,
          rng: np.random.Generator) -> None:
    """Users become retail dealers in the open slots `free` of their market (one each; the caller takes
    no more recruits than there are slots)."""
    p = world.people
    _take_on(world, recruits, fill_slots(rng, _key(p, recruits), free, _key(p, free), mean_sales.size), mean_sales)


def _take_on(world: World, recruits: np.ndarray, suppliers: np.ndarray, mean_sales: np.ndarray) -> None:
    """Users become retail dealers of these wholesalers: their co-use circle become their customers (M30,
    L974), they leave their buying pool and start with the mean sales of their market."""
    p = world.people
    _bring_customers(p, recruits)
    p.set_role(recruits, RETAIL)
    p.since[recruits] = world.t
    p.pool[recruits] = -1
    p.supplier[recruits] = suppliers
    p.demand_ewma[recruits] = mean_sales[_key(p, recruits)]
    world.log("recruit", person=recruits, place=p.region[recruits], substance=p.substance[recruits],
              value=p.fill[recruits])


def back_from_prison(world: World, rng: np.random.Generator, released: np.ndarray) -> None:
    """M69: released addicts, with "almost no legal opportunity", "often return to the environment they
    know [DE2] and transform their freshly gained knowledge and networks into business opportunities"
    (L980 [DE7][DE1]). A released user (users and retail dealers come out as users) with a prison mate who
    is now an active wholesaler of his market joins that wholesaler's direct team if it has room (up to
    `relations.contact_cap`), hired as any recruit; one mate each, the first of his prison ties. No draw
    when `prison.back_to_dealing` is off."""
    p = world.people
    if not world.scenario.prison.back_to_dealing or released.size == 0 or not len(world.ties):
        return
    who, mate = world.ties.neighbours(released, (PRISON_TIE,), len(p))
    ok = ((p.role[mate] == WHOLESALE) & (p.status[mate] == ACTIVE) & (_key(p, mate) == _key(p, who))
          & ((p.flags[who] & EXCLUDED) == 0))
    who, mate = who[ok], mate[ok]
    first = np.unique(who, return_index=True)[1]
    who, mate = who[first], mate[first]
    free = _open_slots(world)
    # keys are the wholesalers, numbered among those in play (not over every row: a national run has 600,000)
    owners, key = np.unique(np.concatenate([mate, free]), return_inverse=True)
    boss = fill_slots(rng, key[:mate.size], free, key[mate.size:], owners.size)
    joined = boss >= 0
    if joined.any():
        _take_on(world, who[joined], boss[joined], _mean_sales(p, _active(p, RETAIL), world.geo.n * N_SUBSTANCES))
        world.week.count("back_from_prison", "retail", p.substance[who[joined]], 1.0)


def _start_spells(world: World, rng: np.random.Generator) -> None:
    """M31: WHEN a user cannot finance his habit, THEN he starts dealing ("it is not unusual for a drug
    user to start dealing in drugs in order to sponsor his addiction, and almost everyone who uses drugs
    eventually starts dealing", L690 [P32]; all seven self-described users had dealt, L690).

    Each month a user whose income does not cover his habit (`users.cannot_finance`) looks for dealing
    work with chance `users.deal_start_rate`; he gets it if a wholesaler of his market has room, a direct
    team smaller than the one he works with (`population.retail_per_wholesaler`: "each wholesale dealer
    has 6-7-8 other dealers", L1022 [P23]), on the dose-and-a-tenth contract (M27, L964 [DE11]), and is
    hired as a wholesaler's own recruit is (`_hire`). Growing a team beyond that, up to
    `relations.contact_cap`, stays the wholesaler's decision, taken when his market's users outgrow its
    dealers (`_grow`). Sanctioned cheats find no one to work for (M17). A spell is a retail career like
    any other: it ends by arrest, by quitting back to use (`_leave`: dealers are loosely attached and
    easily replaced, M32, L984-986), or by promotion. Where more users look than there are openings,
    the openings go to seekers in random order.
    """
    rate = world.scenario.users.deal_start_rate
    if rate <= 0:
        return
    p = world.people
    size = world.geo.n * N_SUBSTANCES
    users = _active(p, USER)
    look = rng.random(users.size) < rate * CAREER_STEP_WEEKS / WEEKS_PER_YEAR
    seekers = users[look]
    seekers = seekers[cannot_finance(world, seekers) & ((p.flags[seekers] & EXCLUDED) == 0)]
    free = _open_slots(world, world.scenario.population.retail_per_wholesaler)
    if seekers.size == 0 or free.size == 0:
        return
    take = np.bincount(_key(p, free), minlength=size)
    hired = seekers[top_k_per_group(_key(p, seekers), rng.random(seekers.size), take)]
    _hire(world, hired, free, _mean_sales(p, _active(p, RETAIL), size), rng)


def _bring_customers(p: People, recruits: np.ndarray) -> None:
    """M30 (L974): the people a new dealer used with (his co-use circle) become his customers."""
    recruits = recruits[p.circle[recruits] >= 0]  # -1 (no circle) would index the last row
    order = np.argsort(p.circle[recruits], kind="stable")
    circles, dealer = p.circle[recruits][order], recruits[order]
    users = p.rows(USER)
    marked = np.zeros(len(p), bool)  # circle ids are person rows
    marked[circles] = True
    recruit = np.zeros(len(p), bool)
    recruit[recruits] = True
    mates = users[marked[p.circle[users]] & ~recruit[users]]
    p.supplier[mates] = dealer[np.searchsorted(circles, p.circle[mates])]


def _organise(world: World, rng: np.random.Generator) -> None:
    """Put the newest of each wholesaler's direct dealers under a mid-level leader until a share
    `market.leader_share` of all his retail dealers are runners (L1962 [P22]; M5, M29), but only beyond
    a direct team of `population.retail_per_wholesaler`: the wholesaler deals directly with his 6-8
    dealers (L1022 [P23]) and reaches further through the leaders among them.

    A leader is a senior direct dealer of the same wholesaler with room for `RUNNERS_PER_LEADER`
    runners; new leaders are appointed among the direct dealers with the longest careers when the
    leaders' room is short. Runners stay with their leader until he or they leave; nobody is moved
    back up, so the share falls back to its target only through exits.
    """
    p, k = world.people, RUNNERS_PER_LEADER
    wh, rd = _active(p, WHOLESALE), _active(p, RETAIL)
    if wh.size == 0 or rd.size == 0 or world.scenario.market.leader_share <= 0:
        return
    boss, lead = p.boss(rd), p.leader_of(rd)
    with p.slots(wh) as slot:
        b = slot[np.maximum(boss, 0)].astype(np.int64)
    ok = boss >= 0
    leader = ok & ((p.flags[rd] & LEADER) != 0)
    runner = ok & (lead >= 0)
    free = ok & ~leader & ~runner  # direct dealers who lead nobody
    total = np.bincount(b[ok], minlength=wh.size)
    target = np.minimum(np.floor(world.scenario.market.leader_share * total + 0.5),
                        total - np.ceil(total / (k + 1)))  # runners need leaders from the same team
    target = np.minimum(target, np.maximum(total - world.scenario.population.retail_per_wholesaler, 0))
    deficit = np.maximum(target - np.bincount(b[runner], minlength=wh.size), 0).astype(np.int64)
    if deficit.sum() == 0:
        return
    leaders = rd[leader]
    room = k - np.bincount(np.searchsorted(leaders, lead[runner]), minlength=leaders.size)
    short = np.maximum(deficit - np.bincount(b[leader], np.maximum(room, 0), wh.size), 0)
    cand = np.flatnonzero(free)
    seniority = (world.t - p.since[rd[cand]]) * (1.0 + rng.random(cand.size))
    new = cand[top_k_per_group(b[cand], seniority, np.ceil(short / k).astype(np.int64))]
    p.flags[rd[new]] |= LEADER
    free[new] = False
    cand = np.flatnonzero(free)
    newest = p.since[rd[cand]] + rng.random(cand.size)
    moved = cand[top_k_per_group(b[cand], newest, deficit)]
    owners = np.concatenate([leaders, rd[new]])
    open_room = slots(owners, np.concatenate([room, np.full(new.size, k)]))
    with p.slots(wh) as slot:
        key_room = slot[p.supplier[open_room]].astype(np.int64)
    to = fill_slots(rng, b[moved], open_room, key_room, wh.size)
    p.supplier[rd[moved[to >= 0]]] = to[to >= 0]


def step(world: World, rng: np.random.Generator) -> None:
    """Careers move monthly: leaving, finding a new wholesaler, recruiting, promoting, organising
    the mid level."""
    if world.t % CAREER_STEP_WEEKS:
        return
    _leave(world, rng)
    _place_orphans(world, rng)
    _organise(world, rng)  # before growth, so that a wholesaler's open slots are counted after it
    _start_spells(world, rng)
    _grow(world, rng)
    reassign_dealers(world, rng)
