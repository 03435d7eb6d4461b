"""Relational capital: kin, co-use circles, introductions, vouching, reputation, cheating, the Vory.

The thesis's market is disorganised (Ch. 4): who can trade big depends on relational capital, not
on an organisation.
- A Roma-like community is the one group whose kin trust matters: goods on credit and kin spread
  across cities who know "who sells where" (M24, M20; thesis L884 [DE11], L886 [P16], L1169 [P20]).
- Users belong to co-use circles; when one becomes a dealer, his circle become his customers (M30, L974).
- Moving up to wholesale needs one acquaintance who already has an "exit" to the weight: a kin member
  or prison mate at that level, or (after his trial period) the dealer's own wholesaler (M14, L1141,
  L1161 [DE9], L1151 [DE2]). The introducer vouches ("gives maza") only if he has a verified reputation
  and is willing to share the cost of a failure (M15, L1100-1102 [P13], L1175 [P30]); kin always do.
- Reputation is years of trading without a failure (M19, L1012 [DE7][P22][P21]).
- Cheating is sanctioned by exclusion ("no one will ever deal with me", L896 [DE11]; rumours of working
  for the police, L986); a voucher pays for the failure of the man he vouched for (L826, L1175 [P30]).
  Disputes of Vory clients are arbitrated by the Vory, who take about a tenth of the value traded as
  protection (M61-M68, L854 [DE7]); the Vory stay peripheral (L850). Other disputes are settled quietly
  unless the wronged supplier judges that what he lost is worth the prison a visible fight can bring
  (a *strelka*, L830 [P7], footnote L840): violence the police notice brings a crackdown on both parties
  and their trade partners (M45, L844 [P13]; Reuter via L836), see `policing.crackdown`.
"""

from __future__ import annotations

import numpy as np

from northroute.processes import prices
from northroute.processes.matching import Groups, random_member, rank_in_group
from northroute.world.arrays import scatter_add
from northroute.world.people import (
    ACTIVE,
    COMMUNITY,
    EXCLUDED,
    RETAIL,
    TRAFFICKER,
    USER,
    VORY,
    WHOLESALE,
)
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World
from northroute.world.ties import INTRO, PRISON, VOUCH

MONTH = 4  # weeks between the monthly updates (reputation, cheating, forgetting), as careers
INTRO_KIN, INTRO_PRISON, INTRO_SUPPLIER = 1, 2, 3  # how an entrant found his introducer
QUIET, ARBITRATED, VIOLENT = 0, 1, 2  # how a dispute ends (rows of Week.disputes, value of `dispute` events)


def group(substance: np.ndarray) -> np.ndarray:
    """Substance group: heroin (0) or cannabis (1); marijuana and hashish traders know each other."""
    return (substance != 0).astype(np.int64)


def init(world: World, rng: np.random.Generator) -> None:
    """Community and kin groups, co-use circles, the Vory's clients, pre-run reputations."""
    p, r = world.people, world.scenario.relations
    everyone = np.arange(len(p))
    members = everyone[rng.random(everyone.size) < r.community_share]
    p.flags[members] |= COMMUNITY
    p.kin[members] = rng.permutation(members.size) // r.kin_group_size
    users = np.concatenate([p.rows(USER), p.rows(RETAIL)])
    form_circles(world, np.sort(users), rng)
    upper = np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    p.flags[upper[rng.random(upper.size) < r.vory_uptake]] |= VORY
    dealers = np.concatenate([p.rows(RETAIL), upper])
    p.reputation[dealers] = (world.t - p.since[dealers]) / WEEKS_PER_YEAR
    p.introducer[upper] = -2
    young = upper[p.reputation[upper] < r.reputation_years]
    vouched = young[rng.random(young.size) < r.vouch_willingness]
    traffickers = p.rows(TRAFFICKER)
    p.voucher[vouched] = traffickers[rng.integers(0, traffickers.size, vouched.size)]
    p.exposure[users] = 1.0


def form_circles(world: World, users: np.ndarray, rng: np.random.Generator) -> None:
    """Group users of one market into co-use circles of about `relations.circle_size`."""
    p = world.people
    order = users[np.lexsort((rng.random(users.size), p.market[users]))]
    rank = rank_in_group(p.market[order].astype(np.int64), world.geo.n * N_SUBSTANCES)
    size = world.scenario.relations.circle_size
    first = order[rank - rank % size + np.arange(order.size) - rank]
    p.circle[order] = first


def _index_users(world: World) -> None:
    """Users by market, for the month's newcomers to meet someone (rebuilt monthly: cheap weeks)."""
    p = world.people
    users = p.rows(USER)
    users = users[p.circle[users] >= 0]
    world.user_index = Groups(users, p.market[users], world.geo.n * N_SUBSTANCES)
    world.kin_rows = np.flatnonzero(p.kin >= 0)


def join_circles(world: World, rows: np.ndarray, rng: np.random.Generator) -> None:
    """New users join the circle of a user they meet in their market (who may since have stopped:
    the circle stays); newcomers join the community at its share of the population, in a random kin
    group."""
    p, r = world.people, world.scenario.relations
    if world.user_index is None:
        _index_users(world)
    mate = world.user_index.pick(rng, p.market[rows])
    p.circle[rows] = np.where(mate >= 0, p.circle[np.maximum(mate, 0)], rows)
    joins = rows[rng.random(rows.size) < r.community_share]
    kin_rows = world.kin_rows
    if joins.size and kin_rows.size:
        p.flags[joins] |= COMMUNITY
        p.kin[joins] = p.kin[kin_rows[rng.integers(0, kin_rows.size, joins.size)]]


def circle_counts(p, users: np.ndarray) -> np.ndarray:
    """Active users in each circle, indexed by circle id (his network of potential customers, M28)."""
    return np.bincount(p.circle[users], minlength=len(p))


def find_introducers(world: World, candidates: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate, an acquaintance who trades at wholesale or above in his drug group (M14).

    Kin first (community only, any region: mobility, M20), then prison mates, then his own wholesaler
    once his trial period is over. Returns (introducer row or -1, how found).
    """
    p, r = world.people, world.scenario.relations
    intro = np.full(candidates.size, -1, np.int64)
    how = np.zeros(candidates.size, np.int8)
    upper = np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    upper = upper[(p.flags[upper] & EXCLUDED) == 0]
    kin_c = p.kin[candidates] >= 0
    if kin_c.any() and upper.size:
        up_kin = upper[p.kin[upper] >= 0]
        key_up = p.kin[up_kin].astype(np.int64) * 2 + group(p.substance[up_kin])
        key_c = p.kin[candidates[kin_c]].astype(np.int64) * 2 + group(p.substance[candidates[kin_c]])
        n_keys = int(max(key_up.max(initial=0), key_c.max(initial=0))) + 1
        found = random_member(rng, key_c, up_kin, key_up, n_keys)
        idx = np.flatnonzero(kin_c)[found >= 0]
        intro[idx], how[idx] = found[found >= 0], INTRO_KIN
    todo = np.flatnonzero(intro < 0)
    if todo.size and len(world.ties):
        who, other = world.ties.neighbours(candidates[todo], (PRISON,), len(p))
        ok = np.isin(other, upper) & (group(p.substance[other]) == group(p.substance[who]))
        first = np.unique(who[ok], return_index=True)
        with p.slots(candidates[todo]) as slot:
            pos = todo[slot[first[0]]]
        intro[pos], how[pos] = other[ok][first[1]], INTRO_PRISON
    todo = np.flatnonzero(intro < 0)
    sup = p.supplier[candidates[todo]]
    trained = world.t - p.since[candidates[todo]] >= r.internship_weeks
    ok = (sup >= 0) & trained & np.isin(sup, upper)
    intro[todo[ok]], how[todo[ok]] = sup[ok], INTRO_SUPPLIER
    return intro, how


def admit(world: World, entrants: np.ndarray, introducers: np.ndarray, how: np.ndarray,
          rng: np.random.Generator) -> None:
    """Record the introduction; the introducer vouches if his reputation is verified and he is
    willing (kin always are); entrants may buy Vory protection."""
    p, r = world.people, world.scenario.relations
    known = introducers >= 0
    p.introducer[entrants] = np.where(known, introducers, -1)
    world.ties.add(introducers[known], entrants[known], INTRO, world.t)
    verified = p.reputation[np.maximum(introducers, 0)] >= r.reputation_years
    willing = (how == INTRO_KIN) | (rng.random(entrants.size) < r.vouch_willingness)
    vouch = known & verified & willing
    p.voucher[entrants[vouch]] = introducers[vouch]
    world.ties.add(introducers[vouch], entrants[vouch], VOUCH, world.t)
    p.flags[entrants[rng.random(entrants.size) < r.vory_uptake]] |= VORY
    world.log("introduced", person=entrants, place=p.region[entrants], substance=p.substance[entrants],
              value=np.where(known, how, 0))
    scatter_add(world.week.entrants, (np.where(known, how, 0), p.substance[entrants]), 1.0)
    if len(world.ties):
        mates = np.unique(world.ties.neighbours(entrants, (PRISON,), len(p))[0])
        world.week.count("entrants_prison_tie", "wholesale", p.substance[mates], 1.0)


def verified(world: World, rows: np.ndarray) -> np.ndarray:
    """May these wholesalers make large purchases? A living voucher or years of clean trading (M15, M19)."""
    p, r = world.people, world.scenario.relations
    if not r.vouching:
        return np.ones(rows.size, bool)
    v = p.voucher[rows]
    vouched = (v >= 0) & (p.status[np.maximum(v, 0)] == 0) & ((p.flags[np.maximum(v, 0)] & EXCLUDED) == 0)
    return vouched | (p.reputation[rows] >= r.reputation_years)


def retaliates(lost: np.ndarray, chance: float, years: np.ndarray, year_value: np.ndarray) -> np.ndarray:
    """Does the wronged party take the dispute to a violent *strelka*? Only when what he lost outweighs
    what violence is expected to cost him: the chance that the police notice and crack down, times the
    prison years he would get, times what a year inside is worth to him. "So, they better fix their
    issues between themselves quietly" [P13] (L844, M45); Reuter: one entrepreneur's violence raises
    police action against all (L836)."""
    return lost > chance * years * year_value


def resolve(world: World, cheats: np.ndarray, victim: np.ndarray) -> np.ndarray:
    """How each dispute ends (QUIET, ARBITRATED or VIOLENT).

    A dispute needs a wronged party: the cheat's active supplier (wholesaler or leader; a wholesaler
    has none in the model, so his cheating is settled by exclusion alone). If either party is a Vory
    client the Vory arbitrate (M61, L826, L848 [DE11]; a vor stands up for the man "in his circle" at the
    strelka, M62, L830 [P7]). Otherwise the supplier retaliates when the goods the cheat holds of him,
    at his own selling price, outweigh his expected cost of violence (`retaliates`), a year inside being
    worth `market.prison_time_weight` years of his takings as in the prices' risk premium (7.6). Else he
    settles quietly: the cheat is excluded (M17, L896 [DE11])."""
    from northroute.processes import justice  # here: justice imports careers, which imports this module

    p = world.people
    v = np.maximum(victim, 0)
    known = (victim >= 0) & (p.status[v] == ACTIVE)
    vory = known & (((p.flags[cheats] | p.flags[v]) & VORY) != 0)
    lost = p.stock_g[cheats] * prices.selling_price(world, v)
    year_value = world.scenario.market.prison_time_weight * WEEKS_PER_YEAR * prices.takings(world, v)
    force = retaliates(lost, world.scenario.policing.crackdown_chance, justice.expected_sentence(world, v),
                       year_value)
    return np.select([vory, known & force], [ARBITRATED, VIOLENT], QUIET)


def _cheating(world: World, rng: np.random.Generator) -> None:
    """Dealers who cheat their supplier are excluded (careers then drops them from the trade); the
    man who vouched for them pays with his own reputation (maza). The dispute ends quietly, in Vory
    arbitration or in violence (`resolve`); violence may bring a police crackdown."""
    p, r = world.people, world.scenario.relations
    chance = r.cheat_rate * MONTH / WEEKS_PER_YEAR
    rd, wh = p.rows(RETAIL), p.rows(WHOLESALE)
    cheats = np.concatenate([rd[rng.random(rd.size) < chance], wh[rng.random(wh.size) < chance]])
    if cheats.size == 0:
        return
    victim = p.supplier[cheats]
    outcome = resolve(world, cheats, victim)
    p.flags[cheats] |= EXCLUDED
    p.reputation[cheats] = 0.0
    world.log("dispute", person=cheats, place=p.region[cheats], substance=p.substance[cheats], value=outcome)
    scatter_add(world.week.disputes, (outcome, p.substance[cheats]), 1.0)
    v = p.voucher[cheats]
    failed = v[v >= 0]
    p.reputation[failed] = 0.0
    world.log("vouch_failure", person=failed, place=p.region[failed], substance=p.substance[failed])
    fight = outcome == VIOLENT
    if fight.any():
        from northroute.processes import policing  # here: policing imports justice, which imports careers and us

        policing.crackdown(world, rng, cheats[fight], victim[fight])


def merge_trades(world: World) -> None:
    """The month's wholesale deals become trade ties (merged monthly: one sort a month)."""
    if world.trade_log:
        src = np.concatenate([s for s, _ in world.trade_log])
        dst = np.concatenate([d for _, d in world.trade_log])
        world.ties.merge_trade(src, dst, world.t)
        world.trade_log.clear()


def step(world: World, rng: np.random.Generator) -> None:
    """Monthly: reputations grow, cheats are sanctioned, unused trade ties fade."""
    if world.t % MONTH:
        return
    p, r = world.people, world.scenario.relations
    dealers = np.concatenate([p.rows(RETAIL), p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    clean = dealers[(p.flags[dealers] & EXCLUDED) == 0]
    p.reputation[clean] += MONTH / WEEKS_PER_YEAR
    _cheating(world, rng)
    merge_trades(world)
    world.ties.forget_trade(world.t - int(r.tie_memory_weeks))
    _index_users(world)

