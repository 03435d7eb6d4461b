"""Trafficking: lots move a leg a week along their route, cross borders, are split at hubs and
are sold at Russian hubs.

- Lots travel hidden in legitimate cargo (thesis L1064-1072, L1239); at a crossing a lot is searched
  with the chance inspections/traffic (M48, L1241 [P20], L1243 [P30]) scaled by the attention its
  vehicle draws, and found with `detect_if_searched`. At the Kazakh staging posts police operations search
  a lot arriving there with `staging_search_rate` (L1317 [P23]: most heroin is seized in Karaganda).
- At the hubs Shymkent, Almaty, Karaganda and Kostanay large lots are split and repacked (M7, L1309
  [DE7][P13]); each part then runs its own risks, which lowers the loss from any one search.
- Foreign suppliers bring heroin across the southern border themselves, hand it to "trusted people"
  and go home (L1090 [P5]): a courier caught at an entry crossing is a foreign national (SF43); the
  Kazakh traffickers who carry on to Russia are not (assumption). The lot is paid for at the source
  all the same (assumption: the thesis does not say who bears an entry seizure).
- Lots that reach a Russian hub are sold there (M10, L952); lots bound for Kazakh buyers are sold to
  wholesalers on the way by `trade`, and what nobody buys is carried on to Russia (L2031).
"""

from __future__ import annotations

import numpy as np

from northroute.processes import justice
from northroute.processes.prices import russia_price_per_g, search_probability, staging_posts
from northroute.world.arrays import scatter_add
from northroute.world.state import World


def init(world: World, rng: np.random.Generator) -> None:
    """Routes start empty; the burn-in fills them."""


def _split_at_hubs(world: World, moved: np.ndarray) -> None:
    """Large lots that have just reached a hub are split there (a lot waiting at the hub is not split again)."""
    lots, geo = world.lots, world.geo
    t = world.scenario.trafficking
    node = geo.route_nodes[lots.route, lots.pos]
    big = np.flatnonzero(geo.is_hub[node] & (lots.bulk_g > t.split_min_kg * 1000.0 * world.lot_scale) & moved)
    k = t.split_parts
    if big.size == 0 or k < 2:
        return
    lots.bulk_g[big] /= k
    lots.pure_g[big] /= k
    rep = np.repeat(big, k - 1)
    lots.append(rep.size, **{name: getattr(lots, name)[rep] for name in lots.COLUMNS})


def step(world: World, rng: np.random.Generator) -> None:
    lots, geo, led, wk = world.lots, world.geo, world.ledger, world.week
    stay = lots.selling & ~lots.export & (lots.wait < world.scenario.trafficking.max_wait_weeks)
    moving = (lots.born < world.t) & ~stay
    here = geo.route_nodes[lots.route, lots.pos]
    was_outside = ~geo.in_kazakhstan[here]
    was_abroad = (geo.kind == "foreign")[here]  # not the Kazakh Chu Valley
    lots.pos[moving] += 1
    lots.wait[moving] = 0
    lots.wait[~moving] += 1
    lots.selling[:] = False
    node = geo.route_nodes[lots.route, lots.pos]
    entering = moving & was_outside & geo.in_kazakhstan[node]

    at_crossing = moving & geo.is_crossing[node]
    searched_here = at_crossing | (moving & staging_posts(geo)[node])
    p_find = search_probability(world)[node, lots.cover] * world.scenario.trafficking.detect_if_searched
    seized = searched_here & (rng.random(len(lots)) < p_find)
    if seized.any():
        s, n, g = lots.substance[seized], node[seized], lots.bulk_g[seized]
        scatter_add(wk.seized_g, (n, s), g)
        scatter_add(wk.route_seized_g, (lots.route[seized], s), g)
        border = seized & at_crossing  # the vehicles customs picks (SF33b)
        scatter_add(wk.cover_seized_g, (lots.cover[border], lots.substance[border]), lots.bulk_g[border])
        justice.seize_lots(world, seized, recorded=True)
        caught = seized  # the courier or driver, charged with smuggling; a lot scaled down is that share of one
        if world.lot_scale < 1.0:
            caught = seized & (rng.random(len(lots)) < world.lot_scale)
        s, n = lots.substance[caught], node[caught]
        wk.count("arrests", "trafficking", s, 1.0, "recorded")
        wk.count("courier_arrests", "trafficking", s, 1.0)
        justice.register_cases(world, geo.region_of[n], s, np.ones(s.size), np.ones(s.size, bool))
        border = caught & at_crossing  # the Border Service's and customs' cases, not the police's
        scatter_add(wk.border_registered, (geo.region_of[node[border]], lots.substance[border]), 1.0)
        # a lot seized as it enters from Kyrgyzstan or Uzbekistan is still in its foreign supplier's hands
        wk.count("foreign_courier_arrests", "trafficking", lots.substance[caught & was_abroad], 1.0)
    entered = entering & ~seized  # through the entry search, if there was one
    scatter_add(wk.route_entered_g, (lots.route[entered], lots.substance[entered]), lots.bulk_g[entered])
    arrived = np.bincount(node[searched_here], lots.bulk_g[searched_here], geo.n)
    lost = np.bincount(node[seized], lots.bulk_g[seized], geo.n)
    seen = arrived > 0
    alpha = 1.0 / world.scenario.market.risk_memory_weeks
    world.crossing_loss[seen] += alpha * (lost[seen] / arrived[seen] - world.crossing_loss[seen])

    sold = ~seized & geo.is_russia[node]
    if sold.any():
        s, n, g = lots.substance[sold], node[sold], lots.bulk_g[sold]
        led.exported_bulk += float(g.sum())
        led.exported_pure += float(lots.pure_g[sold].sum())
        scatter_add(world.people.cash, lots.owner[sold], g * russia_price_per_g(world)[s])
        scatter_add(wk.exported_g, (n, s), g)
        scatter_add(wk.route_exported_g, (lots.route[sold], s), g)
    gone = seized | sold
    lots.keep(~gone)
    _split_at_hubs(world, moving[~gone])
