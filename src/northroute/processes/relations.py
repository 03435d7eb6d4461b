"""Relational capital: kin, co-use circles, introductions, vouching, reputation, cheating, the Vory.

The thesis's market is disorganised (Ch. 4): who can trade big depends on relational capital, not
on an organisation.
- A Roma-like community is the one group whose kin trust matters: goods on credit and kin spread
  across cities who know "who sells where" (M24, M20; thesis L884 [DE11], L886 [P16], L1169 [P20]).
  Each kin group is in touch with a few others ("they commute between different gypsy kins", L884
  [DE11]; "it's like a chain", L1118 [DE12]): their traders at the weight are exits for its members.
  Kin do not name kin as witnesses (L884 [P20]); the rules act on kin ties, never on ethnicity (M24).
- Users belong to co-use circles; when one becomes a dealer, his circle become his customers (M30, L974).
- Moving up to wholesale needs one acquaintance who already has an "exit" to the weight: a kin member
  or prison mate at that level, or (after his trial period) the dealer's own wholesaler (M14, L1141,
  L1161 [DE9], L1151 [DE2]); the more such acquaintances, the better his chances (M20, L904 [P25]).
  The introducer vouches ("gives maza") only if he has a verified reputation and is willing to share
  the cost of a failure (M15, L1100-1102 [P13], L1175 [P30]); kin always do.
- Reputation is years of trading without a failure (M19, L1012 [DE7][P22][P21]).
- Cheating is sanctioned by exclusion ("no one will ever deal with me", L896 [DE11]; rumours of working
  for the police, L986); a voucher pays for the failure of the man he vouched for (L826, L1175 [P30]).
  Disputes of Vory clients are arbitrated by the Vory, who take about a tenth of the value traded as
  protection (M61-M68, L854 [DE7]); the Vory stay peripheral (L850), and weaker where the police are
  strong ("red" cities, L850 [P5]); a wholesaler who loses his police protection may turn to them
  instead (M68, L862 [DE2]). Other disputes are settled quietly unless the wronged supplier judges that
  what he lost is worth the prison a visible fight can bring (a *strelka*, L830 [P7], footnote L840):
  violence the police notice brings a crackdown on both parties and their trade partners (M45, L844
  [P13]; Reuter via L836), see `policing.crackdown`.
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
    People,
)
from northroute.world.state import N_SUBSTANCES, WEEKS_PER_YEAR, World
from northroute.world.ties import INTRO, PRISON, VOUCH

MONTH = 4  # assumption (timing): weeks between the monthly updates (reputation, cheating, forgetting), as careers
INTRO_KIN, INTRO_PRISON, INTRO_SUPPLIER = 1, 2, 3  # how an entrant found his introducer
QUIET, ARBITRATED, VIOLENT = 0, 1, 2  # how a dispute ends (rows of Week.disputes, value of `dispute` events)


def group(substance: np.ndarray) -> np.ndarray:
    """Substance group: heroin (0) or cannabis (1); marijuana and hashish traders know each other."""
    return (substance != 0).astype(np.int64)


def police_strength(world: World) -> np.ndarray:
    """Per place: drug officers per dealer (retail, wholesale, trafficking) over the country's ratio, the
    "red" of L850 [P5]."""
    p, geo = world.people, world.geo
    dealers = sum(np.bincount(p.region[p.rows(role)], minlength=geo.n) for role in (RETAIL, WHOLESALE, TRAFFICKER))
    officers = np.bincount(world.officers.place[world.officers.drug_police()], minlength=geo.n).astype(float)
    national = officers.sum() / max(dealers.sum(), 1)
    return np.divide(officers, dealers * national, out=np.ones(geo.n), where=dealers > 0)


def vory_chance(world: World, rows: np.ndarray) -> np.ndarray:
    """Chance each of these dealers buys Vory protection: `vory_uptake` where the police are as strong as in
    the country, less where they are stronger (M68, L850 [P5]), certain where there are none."""
    r = world.scenario.relations
    strength = np.maximum(police_strength(world)[world.people.region[rows]], 1e-9)
    return np.minimum(1.0, r.vory_uptake * strength ** -r.vory_police_elasticity)


def buy_vory(world: World, rng: np.random.Generator, rows: np.ndarray) -> None:
    """Each of these dealers becomes a Vory client with `vory_chance` (one draw each)."""
    world.people.flags[rows[rng.random(rows.size) < vory_chance(world, rows)]] |= VORY


def vory_at_start(world: World, rng: np.random.Generator) -> None:
    """The Vory's clients among the wholesalers and traffickers of the start, drawn once the police force
    exists (`policing.build_force`), since their number depends on it (M68)."""
    p = world.people
    buy_vory(world, rng, np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)]))


def turn_to_vory(world: World, rng: np.random.Generator, rows: np.ndarray) -> None:
    """Wholesalers whose police protection has just ended, and who are still free, buy the Vory's with
    `vory_chance`: the two are substitute protectors (M68, L862 [DE2]). No draw when the rule is off."""
    p = world.people
    if not world.scenario.relations.vory_replaces_police or rows.size == 0:
        return
    buy_vory(world, rng, rows[(p.status[rows] == ACTIVE) & ((p.flags[rows] & VORY) == 0)])


def init(world: World, rng: np.random.Generator) -> None:
    """Community and kin groups, co-use circles, pre-run reputations (the Vory's clients come later,
    `vory_at_start`). The community is `relations.community_share` of the population but
    `community_upper_start` of the wholesalers and traffickers: in 2012 it still held "the majority ...
    among those who traded on a larger scale" (L888 [P12]), a dominance built up since 2005, before the run
    (one draw per person either way)."""
    p, r = world.people, world.scenario.relations
    everyone = np.arange(len(p))
    upper = (p.role == WHOLESALE) | (p.role == TRAFFICKER)
    members = everyone[rng.random(everyone.size) < np.where(upper, r.community_upper_start, r.community_share)]
    p.flags[members] |= COMMUNITY
    p.kin[members] = rng.permutation(members.size) // r.kin_group_size
    world.kin_rows = members
    link_kin_groups(world, rng)
    users = np.concatenate([p.rows(USER), p.rows(RETAIL)])
    form_circles(world, np.sort(users), rng)
    upper = np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    dealers = np.concatenate([p.rows(RETAIL), upper])
    p.reputation[dealers] = (world.t - p.since[dealers]) / WEEKS_PER_YEAR
    p.introducer[upper] = -2
    young = upper[p.reputation[upper] < r.reputation_years]
    vouched = young[rng.random(young.size) < r.vouch_willingness]
    traffickers = p.rows(TRAFFICKER)
    voucher = traffickers[rng.integers(0, traffickers.size, vouched.size)]
    p.voucher[vouched] = np.where(voucher != vouched, voucher, -1)  # nobody vouches for himself


def link_kin_groups(world: World, rng: np.random.Generator) -> None:
    """Each kin group is in touch with `relations.kin_reach` other groups (M20): "they commute between
    different gypsy kins, and therefore know who sells where" (L884 [DE11]); "northern and southern
    Romas ... communicate" (L1118 [DE12]). Group g reaches g + o (mod the number of groups) for a few
    distinct offsets o drawn once: group numbers are a random permutation of the members, so the
    contacts are random, cost nothing per person, and never repeat a group."""
    p = world.people
    world.kin_groups = int(p.kin.max(initial=-1)) + 1
    reach = min(world.scenario.relations.kin_reach, max(world.kin_groups - 1, 0))
    world.kin_offsets = 1 + rng.choice(max(world.kin_groups - 1, 1), reach, replace=False) if reach else \
        np.zeros(0, np.int64)


def reached_groups(world: World, kin: np.ndarray) -> np.ndarray:
    """[len(kin), 1 + kin_reach]: the kin groups each member reaches, his own first (M20)."""
    offsets = np.concatenate([[0], world.kin_offsets]).astype(np.int64)
    return (kin.astype(np.int64)[:, None] + offsets[None, :]) % max(world.kin_groups, 1)


def join_community(world: World, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Newcomers join the community at its share of the population, in a random kin group (people
    added after the start: new users, and the drug prisoners serving at the start)."""
    p, r = world.people, world.scenario.relations
    joins = rows[rng.random(rows.size) < r.community_share]
    kin_rows = world.kin_rows
    if joins.size and kin_rows.size:
        p.flags[joins] |= COMMUNITY
        p.kin[joins] = p.kin[kin_rows[rng.integers(0, kin_rows.size, joins.size)]]


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
    the circle stays); newcomers join the community (`join_community`)."""
    p = world.people
    if world.user_index is None:
        _index_users(world)
    mate = world.user_index.pick(rng, p.market[rows])
    p.circle[rows] = np.where(mate >= 0, p.circle[np.maximum(mate, 0)], rows)
    join_community(world, rows, rng)


def circle_counts(p: People, users: np.ndarray) -> np.ndarray:
    """Active users in each circle, indexed by circle id (his network of potential customers, M28)."""
    return np.bincount(p.circle[users], minlength=len(p))


def find_introducers(world: World, candidates: np.ndarray, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate, an acquaintance who trades at wholesale or above in his drug group (M14).

    Kin first (his own kin group and the groups it is in touch with, any region: mobility, M20), then
    prison mates, then his own wholesaler once his trial period is over. Returns (introducer row or -1,
    how found, number of such acquaintances: his exits to the weight).
    """
    p, r = world.people, world.scenario.relations
    intro = np.full(candidates.size, -1, np.int64)
    how = np.zeros(candidates.size, np.int8)
    exits = np.zeros(candidates.size, np.int64)
    upper = np.concatenate([p.rows(WHOLESALE), p.rows(TRAFFICKER)])
    upper = upper[(p.flags[upper] & EXCLUDED) == 0]
    kin_c = np.flatnonzero(p.kin[candidates] >= 0)
    if kin_c.size and upper.size:
        found, exits[kin_c] = _kin_exit(world, candidates[kin_c], upper, rng)
        intro[kin_c[found >= 0]], how[kin_c[found >= 0]] = found[found >= 0], INTRO_KIN
    if len(world.ties):
        who, other = world.ties.neighbours(candidates, (PRISON,), len(p))
        ok = np.isin(other, upper) & (group(p.substance[other]) == group(p.substance[who]))
        with p.slots(candidates) as slot:
            pos = slot[who[ok]]
        exits += np.bincount(pos, minlength=candidates.size)
        todo = intro[pos] < 0
        first = np.unique(pos[todo], return_index=True)
        intro[first[0]], how[first[0]] = other[ok][todo][first[1]], INTRO_PRISON
    sup = p.supplier[candidates]
    trained = world.t - p.since[candidates] >= r.internship_weeks
    ok = (sup >= 0) & trained & np.isin(sup, upper)
    exits += ok
    todo = ok & (intro < 0)
    intro[todo], how[todo] = sup[todo], INTRO_SUPPLIER
    return intro, how, exits


def _kin_exit(world: World, kin_cand: np.ndarray, upper: np.ndarray, rng: np.random.Generator
              ) -> tuple[np.ndarray, np.ndarray]:
    """For candidates of the community: a random trader at wholesale or above of his drug group among
    the kin groups he reaches (-1 if none), and how many there are (M14, M20)."""
    p = world.people
    up_kin = upper[p.kin[upper] >= 0]
    n_keys = 2 * max(world.kin_groups, 1)
    index = Groups(up_kin, p.kin[up_kin].astype(np.int64) * 2 + group(p.substance[up_kin]), n_keys)
    keys = reached_groups(world, p.kin[kin_cand]) * 2 + group(p.substance[kin_cand])[:, None]
    counts = index.counts[keys]
    total = counts.sum(axis=1)
    found = np.full(kin_cand.size, -1, np.int64)
    some = np.flatnonzero(total > 0)
    if some.size:
        draw = (rng.random(some.size) * total[some]).astype(np.int64)  # one of all he reaches, uniformly
        cum = np.cumsum(counts[some], axis=1)
        col = (cum <= draw[:, None]).sum(axis=1)
        before = cum[np.arange(some.size), col] - counts[some, col]
        found[some] = index.sorted_rows[index.starts[keys[some, col]] + draw - before]
    return found, total


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
    buy_vory(world, rng, entrants)
    world.log("introduced", person=entrants, place=p.region[entrants], substance=p.substance[entrants],
              value=np.where(known, how, 0))
    scatter_add(world.week.entrants, (np.where(known, how, 0), p.substance[entrants]), 1.0)
    if len(world.ties):
        mates = np.unique(world.ties.neighbours(entrants, (PRISON,), len(p))[0])
        world.week.count("entrants_prison_tie", "wholesale", p.substance[mates], 1.0)


def kin_contact(world: World, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each kin member, an active person of a kin group he reaches (his own or one it is in touch
    with, drawn with equal chances, then a random member), or -1 (M20: kin "know who sells where")."""
    p = world.people
    kin = world.kin_rows
    kin = kin[p.status[kin] == ACTIVE]
    reach = reached_groups(world, p.kin[rows])
    group_of = reach[np.arange(rows.size), rng.integers(0, reach.shape[1], rows.size)]
    return random_member(rng, group_of, kin, p.kin[kin].astype(np.int64), max(world.kin_groups, 1))


def confess_for_kin(world: World, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The people actually arrested when `rows` are to be: with chance `relations.kin_substitution` an
    arrested kin wholesaler or trafficker is replaced by a younger relative, an active user or retail
    dealer of his kin group (any region), who confesses in his place: "younger family members
    reportedly 'confessed' in order to side-track more serious criminal investigations against older
    family members" (M70, L956 [P11][P17]). The relative is charged with what he himself holds, so only a
    relative whose arrest is sure to make a case can stand in (one holding no crime would be let go and the
    senior would walk free; `justice.case_chance`). A relative confesses for one senior at most and not when he
    is himself among `rows` (assumption: one person cannot serve two sentences in place of others): seniors who
    drew the same relative draw again among those left, and a senior goes himself only when his group has no free
    relative."""
    from northroute.processes.justice import case_chance  # justice imports this module

    p, r = world.people, world.scenario.relations
    senior = (p.kin[rows] >= 0) & (p.role[rows] >= WHOLESALE)
    if r.kin_substitution <= 0 or not senior.any():
        return rows
    kin = world.kin_rows
    young = kin[(p.status[kin] == ACTIVE) & (p.role[kin] <= RETAIL) & ~np.isin(kin, rows)]
    pending = np.flatnonzero(senior)
    pending = pending[rng.random(pending.size) < r.kin_substitution]
    if pending.size:
        young = young[case_chance(world, young) == 1.0]
    out = rows.copy()
    while pending.size:  # rounds, not people: each round seats at least one senior's relative
        relative = random_member(rng, p.kin[rows[pending]].astype(np.int64), young, p.kin[young].astype(np.int64),
                                 max(world.kin_groups, 1))
        pending, relative = pending[relative >= 0], relative[relative >= 0]
        first = np.zeros(relative.size, bool)
        first[np.unique(relative, return_index=True)[1]] = True
        out[pending[first]] = relative[first]
        world.week.count("kin_confessions", "wholesale", p.substance[rows[pending[first]]], 1.0)
        young = young[~np.isin(young, relative[first])]
        pending = pending[~first]
    return out


def silent(world: World, witnesses: np.ndarray, named: np.ndarray) -> np.ndarray:
    """Which witness-supplier pairs stay silent: kin do not name kin ("gypsies never betray each other",
    L884 [P20]; M24, M70), when `relations.kin_silence`."""
    p = world.people
    if not world.scenario.relations.kin_silence:
        return np.zeros(witnesses.size, bool)
    return (p.kin[witnesses] >= 0) & (p.kin[witnesses] == p.kin[named])


def verified(world: World, rows: np.ndarray) -> np.ndarray:
    """May these wholesalers make large purchases? A living voucher or years of clean trading (M15, M19)."""
    p, r = world.people, world.scenario.relations
    if not r.vouching:
        return np.ones(rows.size, bool)
    v = p.voucher[rows]
    vouched = (v >= 0) & (p.status[np.maximum(v, 0)] == ACTIVE) & ((p.flags[np.maximum(v, 0)] & EXCLUDED) == 0)
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
    merge_trades(world)  # first: a crackdown takes in this month's trade partners too
    _cheating(world, rng)
    world.ties.forget_trade(world.t - int(r.tie_memory_weeks))
    _index_users(world)

