"""The world: every table and shared array one simulated week reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from northroute.scenario import Scenario
from northroute.world.geography import Geography
from northroute.world.officers import Officers
from northroute.world.people import People
from northroute.world.shipments import COVER_NAMES, Lots
from northroute.world.table import Table
from northroute.world.ties import Ties

N_SUBSTANCES = 3
WEEKS_PER_YEAR = 52.1775
# The first Monday of 2015, taken as the day the Anti-corruption Strategy 2015-2025 took effect: the thesis gives
# only 'adopted in 2015' (L300; the Strategy for 2015-2025, L98), so the day is an assumption.
# SF27b follows the protection deals standing then (People.deal_since, justice.end_deals_by_arrest)
REFORM_SWITCH = date(2015, 1, 5)


EVENT_KINDS = ("supply", "seizure", "start_use", "stop_use", "recruit", "stop_dealing", "promote",
               "leave_wholesale", "introduced", "dispute", "vouch_failure", "arrest", "conviction", "release",
               "bribe", "corruption_conviction", "dismissal", "protection_deal")
# What led to an arrest (the events' `cause` of arrest and bribe events): the police's own quota draw (7.9), a
# crackdown after violence (M45), a protector handing his client over (M52), a protector's client taken down with
# him (M57) and a witness's testimony (M37)
ARREST_CAUSES = ("quota", "crackdown", "handed_over", "taken_down", "testimony")


class EventLog(Table):
    """Events as one growable table of compact columns (an int8 kind code, int32 person, float32 amounts).

    One table rather than a list of small per-week chunks: the chunks' array headers and the heap
    fragments they left cost about as much as the events themselves at national scale (BENCHMARKS.md)."""

    COLUMNS = {"week": np.dtype(np.int16), "kind": np.dtype(np.int8), "person": np.dtype(np.int32),
               "place": np.dtype(np.int16), "substance": np.dtype(np.int8), "grams": np.dtype(np.float32),
               "value": np.dtype(np.float32), "role": np.dtype(np.int8), "cause": np.dtype(np.int8)}

    def __init__(self) -> None:
        self.clear()

    def add(self, week: int, kind: str, person: ArrayLike, place: ArrayLike, substance: ArrayLike, grams: ArrayLike,
            value: ArrayLike, role: ArrayLike = -1, cause: ArrayLike = -1) -> None:
        """Append events of one kind (arrays broadcast to one length); role and cause -1 where they do not apply."""
        values = {"person": person, "place": place, "substance": substance, "grams": grams, "value": value,
                  "role": role, "cause": cause}
        # scalars fill their column as they are, arrays are flattened: cheaper than broadcasting (a week's hot path)
        cols = {k: v if isinstance(v, int | float | np.generic) else np.ravel(v) for k, v in values.items()}
        sizes = [v.size for v in cols.values() if isinstance(v, np.ndarray)]
        n = min(sizes, default=1) and max(sizes, default=1)
        if n:
            self.append(n, week=week, kind=EVENT_KINDS.index(kind), **cols)

    def clear(self) -> None:
        """Empty, with room for a few weeks' events (the table grows as `Table` does)."""
        super().__init__(4096)

    def columns(self, consume: bool = False) -> dict[str, np.ndarray]:
        """All events as one array per column; `consume` hands over the columns without a copy and
        leaves the log empty (lower peak memory at the end of a run)."""
        out = {k: getattr(self, k) for k in self.COLUMNS}
        if consume:
            self.clear()
            return out
        return {k: v.copy() for k, v in out.items()}


@dataclass
class Ledger:
    """Running totals of every way grams enter or leave the system (pure and bulk)."""

    supplied_pure: float = 0.0
    supplied_bulk: float = 0.0
    consumed_pure: float = 0.0
    consumed_bulk: float = 0.0
    seized_pure: float = 0.0
    seized_bulk: float = 0.0
    exported_pure: float = 0.0
    exported_bulk: float = 0.0
    adulterant_bulk: float = 0.0


@dataclass
class Week:
    """What happened this week, for the recorder (reset every week)."""

    consumed_g: np.ndarray  # [places, substances] street grams consumed
    consumed_pure: np.ndarray
    need_g: np.ndarray
    bought_wholesale_g: np.ndarray  # lot grams bought by wholesalers at each node
    seized_g: np.ndarray  # in transit at each place: crossing searches and staging-post operations
    exported_g: np.ndarray  # at each Russian hub
    route_supply_g: np.ndarray  # [routes, substances] grams entering each route
    route_entered_g: np.ndarray  # grams that crossed into Kazakhstan (or left the Chu Valley)
    route_seized_g: np.ndarray
    route_exported_g: np.ndarray
    seller_arrests: np.ndarray  # [tier, substance] domestic sellers arrested (prices.TIER_ROLES)
    seller_years: np.ndarray  # [tier, substance] prison years they were sentenced to
    buyers: np.ndarray  # [places, substances] distinct buyers served by retail dealers
    transactions_pooled: np.ndarray
    registered: np.ndarray  # [places, substances] drug crimes registered in each region (SF24)
    border_registered: np.ndarray  # [places, substances] of these, couriers caught at the region's crossings
    handovers: np.ndarray = field(default_factory=lambda: np.zeros((2, N_SUBSTANCES)))  # sum(g x steps), sum(g)
    exits: np.ndarray = field(default_factory=lambda: np.zeros((4, N_SUBSTANCES, 2)))  # role: sum weeks, count
    entrants: np.ndarray = field(default_factory=lambda: np.zeros((4, N_SUBSTANCES)))  # by how introduced
    disputes: np.ndarray = field(default_factory=lambda: np.zeros((3, N_SUBSTANCES)))  # quiet, Vory, violent
    vory_fees: np.ndarray = field(default_factory=lambda: np.zeros(N_SUBSTANCES))  # KZT paid to the Vory
    # [covers, substances] grams put on the routes and grams seized at crossings, by the cargo a lot hides in
    # (shipments.COVER_NAMES; SF33)
    cover_supply_g: np.ndarray = field(default_factory=lambda: np.zeros((len(COVER_NAMES), N_SUBSTANCES)))
    cover_seized_g: np.ndarray = field(default_factory=lambda: np.zeros((len(COVER_NAMES), N_SUBSTANCES)))
    trades: tuple[np.ndarray, np.ndarray] | None = None  # (seller, buyer) of the week's wholesale deals
    counts: dict[tuple[str, str, str], np.ndarray] = field(default_factory=dict)  # policing and justice

    def count(self, name: str, level: str, substance: np.ndarray | int | None, values: np.ndarray | float,
              world: str = "true") -> None:
        """Add to a weekly counter by drug; `substance` None for counts that are not by drug (officers)."""
        key = (name, level, world)
        if substance is None:
            self.counts[key] = self.counts.get(key, np.zeros(1)) + np.sum(values)
            return
        sub = np.atleast_1d(np.asarray(substance, np.intp))
        vals = np.asarray(values, float)
        if vals.shape != sub.shape:  # one value for every row (np.full is cheaper than a broadcast view)
            vals = np.full(sub.shape, vals.item()) if vals.size == 1 else np.broadcast_to(vals, sub.shape)
        added = np.bincount(sub, vals, N_SUBSTANCES)
        before = self.counts.get(key)
        self.counts[key] = added if before is None else before + added


@dataclass
class World:
    scenario: Scenario
    geo: Geography
    people: People
    lots: Lots
    rngs: dict[str, np.random.Generator]
    ties: Ties = field(default_factory=lambda: Ties(1024))
    officers: Officers = field(default_factory=lambda: Officers(64))
    targets: Any = None  # this month's weighed policing targets (policing.Targets)
    customs_corrupt: np.ndarray = field(default_factory=lambda: np.zeros(0))  # corrupt share of customs per place
    manager_phase: float = 0.0  # where this run's sequence of managers who take clients starts (corruption)
    user_index: Any = None  # users grouped by market, rebuilt monthly (relations)
    trade_log: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # deals since last merge
    kin_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    kin_groups: int = 0  # kin groups of the community (relations)
    kin_offsets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # group g is in touch
    # with groups g + offset (mod kin_groups): kin mobility (relations.link_kin_groups, M20)
    t: int = 0  # weeks since the burn-in began
    price_wholesale: np.ndarray = field(default_factory=lambda: np.zeros(0))  # KZT per g [places, subst]
    price_retail: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the users' references per market, summed over prices.ref_window and set at its end (users, 7.4)
    price_retail_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean retail price
    price_ref_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    start_ref_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [summed quit factor, users]
    start_factor_ref: np.ndarray = field(default_factory=lambda: np.zeros(0))  # mean quit factor per user
    crossing_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))  # smoothed seizure share per place
    route_loss_start: np.ndarray = field(default_factory=lambda: np.zeros(0))  # heroin share expected seized
    # per source (supply.HEROIN_SOURCES) at the end of the burn-in; empty before (supply.displacement)
    export_prob: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [routes, subst] this week
    export_bias: np.ndarray = field(default_factory=lambda: np.zeros(0))  # logit centre per route
    arrest_hazard: np.ndarray = field(default_factory=lambda: np.zeros((2, N_SUBSTANCES)))  # per seller-week
    prison_rate: np.ndarray = field(default_factory=lambda: np.zeros((2, N_SUBSTANCES)))  # years per seller-year
    risk_reference: np.ndarray = field(default_factory=lambda: np.zeros((2, 2, N_SUBSTANCES)))  # seller-weeks
    # and prison years [2, tier, substance] summed over the reference window (prices.REFERENCE_WEEKS)
    ledger: Ledger = field(default_factory=Ledger)
    initial_stock: tuple[float, float] = (0.0, 0.0)  # pure and bulk grams held at the start
    week: Week | None = None
    events: EventLog = field(default_factory=lambda: EventLog())

    @property
    def burn_in(self) -> int:
        return self.scenario.time.burn_in_weeks

    @property
    def recording(self) -> bool:
        return self.t >= self.burn_in

    @property
    def week_index(self) -> int:
        """Recorded week number (negative during burn-in)."""
        return self.t - self.burn_in

    @property
    def date(self) -> date:
        return self.scenario.time.start + timedelta(weeks=self.week_index)

    def t_of(self, day: date) -> int:
        """The step (week since the warm start) whose recorded week begins on or after `day`."""
        return self.burn_in + -((self.scenario.time.start - day).days // 7)

    @property
    def scale(self) -> float:
        return self.scenario.population.scale

    @property
    def lot_scale(self) -> float:
        """What a lot's size is multiplied by: the population scale when lots follow it (supply.lots_follow_scale),
        so a reduced-scale run moves as many lots as a national one."""
        return self.scale if self.scenario.supply.lots_follow_scale else 1.0

    def new_week(self) -> None:
        p, r = self.geo.n, len(self.geo.route_names)
        z = lambda *shape: np.zeros(shape)  # noqa: E731
        self.week = Week(
            consumed_g=z(p, 3), consumed_pure=z(p, 3), need_g=z(p, 3), bought_wholesale_g=z(p, 3),
            seized_g=z(p, 3), exported_g=z(p, 3), route_supply_g=z(r, 3), route_entered_g=z(r, 3),
            route_seized_g=z(r, 3), route_exported_g=z(r, 3), seller_arrests=z(2, 3),
            seller_years=z(2, 3), buyers=z(p, 3), transactions_pooled=z(p, 3), registered=z(p, 3),
            border_registered=z(p, 3),
        )

    def log(self, kind: str, person: np.ndarray | int = -1, place: np.ndarray | int = -1,
            substance: np.ndarray | int = -1, grams: np.ndarray | float = 0.0,
            value: np.ndarray | float = 0.0, role: np.ndarray | int = -1, cause: str | None = None) -> None:
        """Append events of one kind (arrays broadcast to one length); nothing during burn-in. `role` is the
        person's role when it happened and `cause` what led to an arrest (`ARREST_CAUSES`), where they apply."""
        if self.recording:
            self.events.add(self.week_index, kind, person, place, substance, grams, value, role,
                            -1 if cause is None else ARREST_CAUSES.index(cause))

    def stock_totals(self) -> tuple[float, float]:
        """Pure and bulk grams held by anyone (people and lots in transit)."""
        return (float(self.people.pure_g.sum() + self.lots.pure_g.sum()),
                float(self.people.stock_g.sum() + self.lots.bulk_g.sum()))
