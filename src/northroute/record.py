"""Weekly metrics: every output says which world it comes from (DESIGN §2.4).

world=true is what happened; world=recorded is what the agencies register: crimes counted per
controlled purchase, arrests by the level of the charge (a pool's buyer is an organised
distributor), seizures less what dealing officers resold, corruption cases including officers fired
on rumours. Metrics are kept in dense arrays while running and turned into one long table
(week, date, place, substance, level, metric, world, value) at the end; counts of officers are not
by drug and carry substance "all".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from northroute.network import snapshot
from northroute.processes.policing import team_protected
from northroute.processes.prices import truck_search_chance
from northroute.processes.relations import ARBITRATED, INTRO_KIN, INTRO_PRISON, QUIET, VIOLENT
from northroute.world.arrays import count_by, scatter_add, sum_by
from northroute.world.officers import HONEST
from northroute.world.people import (
    COMMUNITY,
    PRISON,
    RETAIL,
    SUBSTANCE_NAMES,
    TRAFFICKER,
    USER,
    VORY,
    WHOLESALE,
    People,
    purity,
)
from northroute.world.shipments import COVER_NAMES, COVER_WORDS
from northroute.world.state import N_SUBSTANCES, REFORM_SWITCH, WEEKS_PER_YEAR, World
from northroute.world.ties import TRADE

ROUNDING = 1e-9  # a negative value smaller than this is float rounding of sums that cannot be negative
MONTHLY = 4  # weeks between measurements of network structure and exposure (slow to change, costly)
# SF10's cohort: users who started using inside the simulation (after its first week; the initial users and
# inmates are added with `entered` = 0 and their dealing before 2012 is unknown) and have used at least this
# many years. Fixed at 2 in the M31 session before this measure was computed on any run (a diagnosis of the
# model before spells had shown the share of users who ever sold by years of use): the thesis gives no
# duration (its seven users had dealt "at some point in their past", L690); 2 years leaves most of an
# 8-year run's entrants in the cohort and gives `users.deal_start_rate` time to act.
LIFETIME_MIN_YEARS = 2.0


@dataclass(frozen=True)
class Metric:
    name: str
    level: str
    places: str  # region | crossing | russia | route | national
    unit: str
    doc: str
    world: str = "true"  # true | recorded
    by_drug: bool = True
    counted: bool = False  # summed from the week's policing and justice counters (Week.count)


def C(name: str, level: str, unit: str, doc: str, world: str = "true", by_drug: bool = True) -> Metric:
    """A national weekly count kept by the policing, corruption and justice processes."""
    return Metric(name, level, "national", unit, doc, world, by_drug, counted=True)


def S(name: str, level: str, unit: str, doc: str, by_drug: bool = True) -> Metric:
    """A national state measured every `MONTHLY` weeks (slow to change) and carried between."""
    return Metric(name, level, "national", unit, doc + "; every 4 weeks", "true", by_drug)


ROLE_LEVELS = ("user", "retail", "wholesale", "trafficking")


METRICS = (
    Metric("users", "user", "region", "persons", "people who use the drug"),
    Metric("dealers", "retail", "region", "persons", "active retail dealers"),
    Metric("dealers", "wholesale", "region", "persons", "active wholesalers"),
    Metric("vory_clients", "wholesale", "region", "persons", "active wholesalers who are Vory clients (M68, SF37)"),
    Metric("consumption_g", "user", "region", "g/week", "street grams consumed (users and dealers)"),
    Metric("consumption_pure_g", "user", "region", "g/week", "pure grams consumed"),
    Metric("unmet_need_share", "user", "region", "fraction", "share of wanted grams not obtained"),
    Metric("price", "wholesale", "region", "KZT/g", "price wholesalers pay traffickers per gram"),
    Metric("price", "retail", "region", "KZT/g", "price users pay per street gram"),
    Metric("purity", "wholesale", "region", "fraction", "purity of wholesalers' stock"),
    Metric("purity", "retail", "region", "fraction", "purity of retail dealers' stock"),
    Metric("stock_g", "wholesale", "region", "g", "grams held by wholesalers"),
    Metric("stock_g", "retail", "region", "g", "grams held by retail dealers"),
    Metric("purchases_g", "wholesale", "region", "g/week", "lot grams bought by wholesalers at the node"),
    Metric("buyers", "retail", "region", "buyers/week", "distinct buyers (a pool counts once) served"),
    Metric("pooled_purchases", "user", "region", "purchases/week", "purchases made by a pool's buyer"),
    Metric("registered_crimes", "police", "region", "crimes/week", "drug crimes registered in the region of the "
           "arrested (SF24)", "recorded"),
    Metric("border_cases", "police", "region", "crimes/week", "of the registered drug crimes, couriers caught at the "
           "region's border crossings: cases of the Border Service and customs rather than of a police "
           "investigator (docs/open-decisions.md, decision 2)", "recorded"),
    Metric("drug_officers", "police", "region", "officers", "serving UBN and patrol officers (line and manager)",
           by_drug=False),
    Metric("corrupt_drug_officers", "police", "region", "officers", "serving UBN and patrol officers who protect, "
           "extort or deal (SF26)", by_drug=False),
    Metric("seizures_g", "trafficking", "crossing", "g/week", "grams seized at the crossing"),
    Metric("staging_seizures_g", "trafficking", "region", "g/week", "grams seized from lots arriving at the "
           "region's staging post (hubs only; trafficking.staging_search_rate)"),
    Metric("exports_g", "trafficking", "russia", "g/week", "grams sold at the Russian hub"),
    Metric("route_supply_g", "trafficking", "route", "g/week", "grams entering the route at its source"),
    Metric("route_flow_g", "trafficking", "route", "g/week",
           "grams entering Kazakhstan on the route, after the entry search"),
    Metric("route_seizures_g", "trafficking", "route", "g/week", "grams seized on the route"),
    Metric("route_exports_g", "trafficking", "route", "g/week", "grams leaving the route into Russia"),
    Metric("exits_g", "trafficking", "crossing", "g/week", "grams leaving Kazakhstan through the crossing and "
           "sold at the Russian hub beyond it (SF41)"),
    Metric("truck_search_chance", "trafficking", "national", "probability", "chance a truck crossing the border "
           "is searched, mean over crossings weighted by their trucks per day (SF33)", by_drug=False),
    *(Metric(f"supply_{name}_g", "trafficking", "national", "g/week", f"grams put on the routes hidden {where} "
             "(SF33)") for name, where in zip(COVER_NAMES, COVER_WORDS, strict=True)),
    *(Metric(f"seizures_{name}_g", "trafficking", "national", "g/week", f"grams seized at crossings hidden {where} "
             "(SF33)") for name, where in zip(COVER_NAMES, COVER_WORDS, strict=True)),
    Metric("in_transit_g", "trafficking", "national", "g", "grams in lots on the routes"),
    Metric("traffickers", "trafficking", "national", "persons", "active traffickers (cannabis under marijuana)"),
    Metric("price", "retail", "national", "KZT/g", "user-weighted national retail price"),
    Metric("price", "wholesale", "national", "KZT/g", "user-weighted national wholesale price"),
    Metric("team_size", "wholesale", "national", "persons",
           "mean retail dealers per active wholesaler (SF2); every 4 weeks"),
    Metric("team_size_max", "wholesale", "national", "persons", "largest retail team of a wholesaler; every 4 weeks"),
    Metric("handovers", "user", "national", "hand-overs", "grams-weighted hand-overs from trafficker to "
           "consumer (SF3)"),
    Metric("one_off_pairs", "wholesale", "national", "fraction", "share of the trafficker-wholesaler ties used "
           "in the last year that were used only once since they were made (SF3); every 4 weeks"),
    Metric("exposure", "user", "national", "counterparties", "mean distinct counterparties a week (M3); "
           "every 4 weeks"),
    Metric("exposure", "retail", "national", "counterparties", "mean distinct counterparties a week; every 4 weeks"),
    Metric("exposure", "wholesale", "national", "counterparties", "mean distinct counterparties a week; every "
           "4 weeks"),
    Metric("exposure", "trafficking", "national", "counterparties", "mean distinct counterparties a week; every 4 "
           "weeks"),
    Metric("leavers", "user", "national", "persons/week", "users who stopped using (or died)"),
    Metric("leavers", "retail", "national", "persons/week", "retail dealers who stopped dealing"),
    Metric("leavers", "wholesale", "national", "persons/week", "wholesalers who left the trade"),
    Metric("tenure_weeks", "user", "national", "weeks/week", "summed weeks of use of this week's leavers "
           "(divide by leavers for the mean)"),
    Metric("tenure_weeks", "retail", "national", "weeks/week", "summed career weeks of this week's leavers "
           "(divide by leavers for the mean career length)"),
    Metric("tenure_weeks", "wholesale", "national", "weeks/week", "summed career weeks of this week's leavers"),
    Metric("switch_deals", "wholesale", "national", "deals", "protection deals standing that began before the "
           "reform's switch, 2015-01-05 (SF27b's cohort); weekly"),
    Metric("entrants", "wholesale", "national", "persons/week", "new wholesalers (all)"),
    Metric("entrants_introduced", "wholesale", "national", "persons/week", "new wholesalers with an introducer"),
    Metric("entrants_kin", "wholesale", "national", "persons/week", "new wholesalers introduced by kin"),
    Metric("entrants_prison", "wholesale", "national", "persons/week", "new wholesalers introduced by a "
           "prison mate"),
    C("entrants_prison_tie", "wholesale", "persons/week", "new wholesalers who have a tie formed in prison (SF9)"),
    Metric("ever_sold_share", "user", "national", "fraction", "share of people using now who have ever sold "
           "(users who were using at the start count as never having sold before it); every 4 weeks"),
    Metric("ever_sold_share_career", "user", "national", "fraction", "share of people using now who started "
           "using inside the run at least `LIFETIME_MIN_YEARS` (2) years ago and have ever sold (SF10); every "
           "4 weeks"),
    S("role_weeks", "retail", "weeks", "mean time in role of the active retail dealers, weeks since each took it "
      "(SF30's reading (b), docs/open-decisions.md)"),
    Metric("community_share", "user", "national", "fraction", "share of users in the kin community; every 4 "
           "weeks"),
    Metric("community_share", "wholesale", "national", "fraction", "share of wholesalers in the kin community "
           "(SF8); every 4 weeks"),
    S("community_share_upper", "wholesale", "fraction", "share of the upper tier (wholesalers and traffickers, all "
      "drugs) in the kin community (SF8)", by_drug=False),
    S("community_share_all", "user", "fraction", "share of all people in the market (users, dealers and "
      "traffickers, all drugs) in the kin community: its population share (SF8)", by_drug=False),
    C("kin_confessions", "wholesale", "persons/week", "younger relatives arrested in place of a kin wholesaler or "
      "trafficker (M70)"),
    Metric("disputes", "retail", "national", "disputes/week", "cheating disputes settled by reputation "
           "(exclusion)"),
    Metric("disputes_vory", "retail", "national", "disputes/week", "cheating disputes arbitrated by the Vory"),
    Metric("disputes_violent", "retail", "national", "disputes/week", "cheating disputes the wronged supplier "
           "took to violence (a strelka; SF6)"),
    Metric("vory_fees", "wholesale", "national", "KZT/week", "protection fees paid to the Vory (incl. obshak "
           "paid from prison)"),
    *(C("arrests", lv, "persons/week", f"people arrested whose role was {lv} (true) or charged at the {lv} "
        "level (recorded: possession=user, sale=retail, organised sale=wholesale, smuggling=trafficking)", w)
      for lv in ROLE_LEVELS for w in ("true", "recorded")),
    C("courier_arrests", "trafficking", "persons/week", "couriers and drivers arrested with a seized lot at a "
      "crossing (not agents of the model)"),
    C("foreign_courier_arrests", "trafficking", "persons/week", "of these, couriers of foreign suppliers caught "
      "at an entry crossing from Kyrgyzstan or Uzbekistan (L1090 [P5]; SF43)"),
    C("arrests_protected", "wholesale", "persons/week", "arrested wholesalers who had police protection"),
    C("back_from_prison", "retail", "persons/week", "released users and retail dealers who joined the team of a "
      "prison mate now at wholesale (M69)"),
    *(C("convictions", lv, "persons/week", f"convictions charged at the {lv} level", "recorded")
      for lv in ROLE_LEVELS),
    *(C("sentence_years", lv, "years/week", f"summed sentences of convictions charged at the {lv} level "
        "(divide by convictions for the mean)", "recorded") for lv in ROLE_LEVELS),
    C("convictions_pooled", "user", "persons/week", "pool buyers convicted as distributors (SF12)"),
    C("convictions_dealers", "retail", "persons/week", "convictions for sale, organised sale or smuggling"),
    C("convictions_sellers", "retail", "persons/week", "convictions of dealers (retail dealers, wholesalers, "
      "traffickers), whatever the charge; not pool buyers or users framed as distributors"),
    C("convictions_sellers_prior", "retail", "persons/week", "of those, people who had served a prison term before "
      "(SF9b)"),
    C("convictions_protected", "wholesale", "persons/week", "protected wholesalers convicted"),
    C("sentence_years_protected", "wholesale", "years/week", "summed sentences of protected wholesalers"),
    C("acquittals", "police", "persons/week", "acquittals (SF35)", "recorded"),
    C("registered_crimes", "police", "crimes/week", "drug crimes registered: one per arrest (couriers "
      "caught at crossings included) plus one per extra controlled purchase of a dealer (M41, SF34)", "recorded"),
    C("sale_crimes", "police", "crimes/week", "the registered crimes of people charged with sale, organised "
      "sale or smuggling, their extra controlled purchases included (SF34)", "recorded"),
    C("dealers_prosecuted", "police", "persons/week", "people charged with sale, organised sale or smuggling "
      "(couriers included)", "recorded"),
    *(C("released_no_case", lv, "persons/week", f"people of the {lv} level picked by the police and let go: what "
        "they held was below the small threshold, no crime to possess (L1786), and their sale was not documented")
      for lv in ("user", "retail")),
    C("framed_cases", "user", "persons/week", "user arrests written up as members of organised groups (M41c)",
      "recorded"),
    C("cooperations", "retail", "persons/week", "arrested dealers or pool buyers registered as cooperating "
      "witnesses (SF13)"),
    C("testimony_arrests", "wholesale", "persons/week", "wholesalers arrested on a witness's testimony"),
    C("testimony_arrests", "retail", "persons/week", "mid-level leaders arrested on a runner's testimony"),
    C("operations_burned", "police", "operations/week", "operations against wholesalers or traffickers "
      "betrayed along the approval chain (M40)"),
    C("crackdowns", "police", "disputes/week", "violent disputes the police noticed and answered with a crackdown "
      "(M45)"),
    C("crackdown_arrests", "police", "persons/week", "people arrested in crackdowns: the parties of a violent "
      "dispute and their trade partners in the region (M45)"),
    C("seizures_total_g", "police", "g/week", "all seizures: crossings, staging posts, arrests and Koknar (true: "
      "taken from the market or the holder; recorded: less what dealing officers resold)"),
    C("seizures_total_g", "police", "g/week", "seizures registered by the agencies", "recorded"),
    C("resold_seizures_g", "police", "g/week", "seized grams a dealing officer put back on the market"),
    C("taken_down", "wholesale", "persons/week", "clients arrested with their convicted protector (M57)"),
    C("sacrificed", "wholesale", "persons/week", "clients a protector who stopped protecting handed over to be "
      "arrested (M52)"),
    C("deals_ended_by_arrest", "wholesale", "deals/week", "protection deals ended because the dealer or the "
      "protector was arrested (SF27)"),
    C("switch_deals_ended_by_arrest", "wholesale", "deals/week", "of those, deals that began before the reform's "
      "switch, 2015-01-05 (SF27b)"),
    C("bribes_kzt", "police", "KZT/week", "protection payments and bribes at arrest", by_drug=False),
    C("protection_kzt", "wholesale", "KZT/week", "protection payments, by the drug of the wholesaler who paid: "
      "the part of bribes_kzt that is not a bribe at arrest (L1710 [P19])"),
    C("extortion_kzt", "police", "KZT/week", "cash taken from users by extorting officers", by_drug=False),
    C("corruption_convictions", "police", "officers/week", "corrupt officers convicted", by_drug=False),
    C("line_corruption_convictions", "police", "officers/week", "corrupt UBN and patrol line officers convicted "
      "('regular police', L1704; SF28)", by_drug=False),
    C("line_corruption_expected", "police", "officers/week", "expected convictions of corrupt UBN and patrol line "
      "officers: their number at the monthly detection times its chance (SF28; without the draw's noise)",
      by_drug=False),
    C("corruption_cases", "police", "officers/week", "corruption cases: convictions plus officers fired on "
      "rumours (L1888 [P20])", "recorded", by_drug=False),
    C("officer_sentence_years", "police", "years/week", "summed sentences of convicted officers", "recorded",
      by_drug=False),
    C("rumour_dismissals", "police", "officers/week", "honest officers fired on rumours (M58)", by_drug=False),
    C("managers_dismissed", "police", "officers/week", "managers fired for subordinates' corruption (S3)",
      by_drug=False),
    C("supervision_dismissals", "police", "officers/week", "corrupt line officers fired by a manager who answers "
      "for them (SF28)", by_drug=False),
    C("officers_left", "police", "officers/week", "officers who left for ordinary reasons (turnover, replaced)",
      by_drug=False),
    *(S("inmates", lv, "persons", f"people in prison whose role at arrest was {lv}") for lv in ROLE_LEVELS),
    S("corrupt_officers", "police", "officers", "serving officers who take bribes, protect, extort or deal",
      by_drug=False),
    S("protector_officers", "police", "officers", "serving officers protecting at least one wholesaler",
      by_drug=False),
    S("officer_tenure_weeks", "police", "weeks", "mean time in post of serving UBN and patrol officers (line and "
      "managers)", by_drug=False),
    S("protected_dealers", "wholesale", "persons", "wholesalers under police protection"),
    S("protected_share", "retail", "fraction", "share of retail volume sold by teams under police protection "
      "(SF25)"),
)
METRIC_INDEX = {(m.name, m.level, m.places, m.world): m for m in METRICS}


class Recorder:
    def __init__(self, world: World) -> None:
        geo = world.geo
        self.weeks = world.scenario.weeks
        self.start = world.scenario.time.start
        n_routes = len(geo.route_names)
        self.place_sets = {
            "region": (geo.regions, [geo.codes[i] for i in geo.regions]),
            "crossing": (np.flatnonzero(geo.kind == "crossing"), None),
            "russia": (np.flatnonzero(geo.is_russia), None),
        }
        for kind in ("crossing", "russia"):
            idx = self.place_sets[kind][0]
            self.place_sets[kind] = (idx, [geo.codes[i] for i in idx])
        self.place_sets["route"] = (np.arange(n_routes), list(geo.route_names))
        self.place_sets["national"] = (np.zeros(1, int), ["KZ"])
        self.data = {
            m: np.zeros((self.weeks, len(self.place_sets[m.places][1]), N_SUBSTANCES if m.by_drug else 1))
            for m in METRICS
        }
        self._structure: dict[tuple[str, str], np.ndarray] | None = None
        self.network_nodes: list[dict[str, np.ndarray]] = []
        self.network_edges: list[dict[str, np.ndarray]] = []

    def _set(self, w: int, name: str, level: str, places: str, values: np.ndarray, world: str = "true") -> None:
        idx = self.place_sets[places][0]
        arr = values if places in ("route", "national") else values[idx]
        self.data[METRIC_INDEX[(name, level, places, world)]][w] = arr

    def record(self, world: World) -> None:
        w = world.week_index
        if w < 0 or w >= self.weeks:
            return
        p, wk, geo = world.people, world.week, world.geo
        n = geo.n * N_SUBSTANCES
        shape = (geo.n, N_SUBSTANCES)

        def per_market(role: int, values: np.ndarray | None = None) -> np.ndarray:
            rows = p.rows(role)
            out = count_by(rows, p.market, n) if values is None else sum_by(rows, p.market, values, n)
            return out.reshape(shape)

        users = per_market(USER) + per_market(RETAIL)
        self._set(w, "users", "user", "region", users)
        self._set(w, "dealers", "retail", "region", per_market(RETAIL))
        self._set(w, "dealers", "wholesale", "region", per_market(WHOLESALE))
        wh = p.rows(WHOLESALE)
        self._set(w, "vory_clients", "wholesale", "region",
                  count_by(wh[(p.flags[wh] & VORY) != 0], p.market, n).reshape(shape))
        self._set(w, "consumption_g", "user", "region", wk.consumed_g)
        self._set(w, "consumption_pure_g", "user", "region", wk.consumed_pure)
        unmet = np.divide(wk.need_g - wk.consumed_g, wk.need_g, out=np.zeros_like(wk.need_g),
                          where=wk.need_g > 0)
        self._set(w, "unmet_need_share", "user", "region", unmet)
        self._set(w, "price", "wholesale", "region", world.price_wholesale)
        self._set(w, "price", "retail", "region", world.price_retail)
        for role, level in ((WHOLESALE, "wholesale"), (RETAIL, "retail")):
            stock, pure = per_market(role, p.stock_g), per_market(role, p.pure_g)
            stock[stock < 1e-6] = 0.0  # rounding leftovers of sold-out stock
            self._set(w, "purity", level, "region", purity(stock, pure))
            self._set(w, "stock_g", level, "region", stock)
        self._set(w, "purchases_g", "wholesale", "region", wk.bought_wholesale_g)
        self._set(w, "buyers", "retail", "region", wk.buyers)
        self._set(w, "pooled_purchases", "user", "region", wk.transactions_pooled)
        self._set(w, "registered_crimes", "police", "region", wk.registered, "recorded")
        self._set(w, "border_cases", "police", "region", wk.border_registered, "recorded")
        drug, corrupt = _drug_officers(world)
        self._set(w, "drug_officers", "police", "region", drug)
        self._set(w, "corrupt_drug_officers", "police", "region", corrupt)
        self._set(w, "seizures_g", "trafficking", "crossing", wk.seized_g)
        self._set(w, "staging_seizures_g", "trafficking", "region", wk.seized_g)
        self._set(w, "exports_g", "trafficking", "russia", wk.exported_g)
        self._set(w, "route_supply_g", "trafficking", "route", wk.route_supply_g)
        self._set(w, "route_flow_g", "trafficking", "route", wk.route_entered_g)
        self._set(w, "route_seizures_g", "trafficking", "route", wk.route_seized_g)
        self._set(w, "route_exports_g", "trafficking", "route", wk.route_exported_g)
        exits = np.zeros((geo.n, N_SUBSTANCES))
        np.add.at(exits, geo.exit_posts, wk.route_exported_g)  # a route's exports left by its exit post
        self._set(w, "exits_g", "trafficking", "crossing", exits)
        self._set(w, "truck_search_chance", "trafficking", "national", np.array([[truck_search_chance(world)]]))
        for c, name in enumerate(COVER_NAMES):
            self._set(w, f"supply_{name}_g", "trafficking", "national", wk.cover_supply_g[c][None, :])
            self._set(w, f"seizures_{name}_g", "trafficking", "national", wk.cover_seized_g[c][None, :])
        lots = world.lots
        self._set(w, "in_transit_g", "trafficking", "national",
                  np.bincount(lots.substance, lots.bulk_g, N_SUBSTANCES)[None, :])
        self._set(w, "traffickers", "trafficking", "national", per_market(TRAFFICKER).sum(axis=0)[None, :])
        self._record_relations(w, world)
        for m in METRICS:
            if m.counted and (m.name, m.level, m.world) in wk.counts:
                self.data[m][w, 0] = wk.counts[(m.name, m.level, m.world)]
        if w == self.weeks - 1 or (world.date + timedelta(weeks=1)).year != world.date.year:
            nodes, edges = snapshot(world, world.date.year)
            self.network_nodes.append(nodes)
            self.network_edges.append(edges)
        weights = users.astype(float)
        tot = weights.sum(axis=0)
        for level, price in (("retail", world.price_retail), ("wholesale", world.price_wholesale)):
            nat = np.divide((weights * price).sum(axis=0), tot, out=np.zeros(N_SUBSTANCES), where=tot > 0)
            self._set(w, "price", level, "national", nat[None, :])

    def _record_relations(self, w: int, world: World) -> None:
        """Enterprise structure, exposure, careers and entry (relational capital, issue #3).

        Structure and exposure change slowly and cost passes over large tables, so they are measured
        every `MONTHLY` weeks and carried between; counts of events (leavers, entrants, disputes, fees)
        are weekly."""
        wk = world.week
        nat = lambda values: np.asarray(values, float)[None, :]  # noqa: E731
        if world.t % MONTHLY == 0 or self._structure is None:
            self._structure = self._measure_structure(world)
        for (name, level), values in self._structure.items():
            self._set(w, name, level, "national", np.asarray(values, float).reshape(1, -1))
        self._set(w, "handovers", "user", "national", nat(_ratio(wk.handovers[0], wk.handovers[1])))
        wh = world.people.rows(WHOLESALE)
        cohort = wh[(world.people.protector[wh] >= 0) & (world.people.deal_since[wh] < world.t_of(REFORM_SWITCH))]
        self._set(w, "switch_deals", "wholesale", "national",
                  nat(np.bincount(world.people.substance[cohort], minlength=N_SUBSTANCES)))
        for role, level in ((USER, "user"), (RETAIL, "retail"), (WHOLESALE, "wholesale")):
            self._set(w, "leavers", level, "national", nat(wk.exits[role, :, 1]))
            self._set(w, "tenure_weeks", level, "national", nat(wk.exits[role, :, 0]))
        self._set(w, "entrants", "wholesale", "national", nat(wk.entrants.sum(axis=0)))
        self._set(w, "entrants_introduced", "wholesale", "national", nat(wk.entrants[1:].sum(axis=0)))
        self._set(w, "entrants_kin", "wholesale", "national", nat(wk.entrants[INTRO_KIN]))
        self._set(w, "entrants_prison", "wholesale", "national", nat(wk.entrants[INTRO_PRISON]))
        self._set(w, "disputes", "retail", "national", nat(wk.disputes[QUIET]))
        self._set(w, "disputes_vory", "retail", "national", nat(wk.disputes[ARBITRATED]))
        self._set(w, "disputes_violent", "retail", "national", nat(wk.disputes[VIOLENT]))
        self._set(w, "vory_fees", "wholesale", "national", nat(wk.vory_fees))

    @staticmethod
    def _measure_structure(world: World) -> dict[tuple[str, str], np.ndarray]:
        p, ties = world.people, world.ties
        rd, wh, tr = p.rows(RETAIL), p.rows(WHOLESALE), p.rows(TRAFFICKER)
        with p.slots(wh) as slot:
            team = np.bincount(slot[p.supplier[rd][p.supplier[rd] >= 0]] + 1, minlength=wh.size + 1)[1:]
        s_wh = p.substance[wh].astype(np.intp)
        n_wh = np.bincount(s_wh, minlength=N_SUBSTANCES)
        top = np.zeros(N_SUBSTANCES)
        np.maximum.at(top, s_wh, team)
        recent = (ties.kind == TRADE) & (ties.last >= world.t - WEEKS_PER_YEAR)  # the metric's "last year"
        s_buyer = p.substance[ties.dst[recent]].astype(np.intp)
        users = np.concatenate([p.rows(USER), rd])
        s_u = p.substance[users].astype(np.intp)
        n_u = np.bincount(s_u, minlength=N_SUBSTANCES)
        career = (p.entered[users] > 0) & (world.t - p.entered[users] >= LIFETIME_MIN_YEARS * WEEKS_PER_YEAR)
        count = lambda keys, mask: np.bincount(keys[mask], minlength=N_SUBSTANCES)  # noqa: E731
        return _measure_enforcement(world) | {
            ("team_size", "wholesale"): _ratio(np.bincount(s_wh, team, N_SUBSTANCES), n_wh),
            ("team_size_max", "wholesale"): top,
            ("one_off_pairs", "wholesale"): _ratio(count(s_buyer, ties.uses[recent] == 1),
                                                   np.bincount(s_buyer, minlength=N_SUBSTANCES)),
            ("exposure", "user"): _mean_by_substance(p, p.rows(USER), p.exposure),
            ("exposure", "retail"): _mean_by_substance(p, rd, p.exposure),
            ("exposure", "wholesale"): _mean_by_substance(p, wh, p.exposure),
            ("exposure", "trafficking"): _mean_by_substance(p, tr, p.exposure),
            ("role_weeks", "retail"): _mean_by_substance(p, rd, world.t - p.since),
            ("ever_sold_share", "user"): _ratio(count(s_u, p.ever_sold[users]), n_u),
            ("ever_sold_share_career", "user"): _ratio(count(s_u, p.ever_sold[users] & career),
                                                       count(s_u, career)),
            ("community_share", "user"): _ratio(count(s_u, (p.flags[users] & COMMUNITY) != 0), n_u),
            ("community_share", "wholesale"): _ratio(count(s_wh, (p.flags[wh] & COMMUNITY) != 0), n_wh),
            ("community_share_upper", "wholesale"): [_kin_share(p, np.concatenate([wh, tr]))],
            ("community_share_all", "user"): [_kin_share(p, np.concatenate([users, wh, tr]))],
        }

    def to_frame(self) -> pd.DataFrame:
        """One long table; text columns are categoricals built from integer codes (no object arrays)."""
        places = list(dict.fromkeys(n for _, names in self.place_sets.values() for n in names))
        place_code = {n: i for i, n in enumerate(places)}
        levels = sorted({m.level for m in METRICS})
        names = sorted({m.name for m in METRICS})
        weeks = np.arange(self.weeks, dtype=np.int16)
        dates = np.datetime64(self.start, "D") + (7 * weeks.astype(np.int64)).astype("timedelta64[D]")
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("week", "place", "substance", "level", "metric", "world",
                                                              "value")}
        for m, arr in self.data.items():
            nw, npl, ns = arr.shape
            codes = np.array([place_code[n] for n in self.place_sets[m.places][1]], np.int16)
            parts["week"].append(np.repeat(weeks, npl * ns))
            parts["place"].append(np.tile(np.repeat(codes, ns), nw))
            drugs = np.arange(ns, dtype=np.int8) if m.by_drug else np.array([N_SUBSTANCES], np.int8)
            parts["substance"].append(np.tile(drugs, nw * npl))
            parts["level"].append(np.full(arr.size, levels.index(m.level), np.int8))
            parts["metric"].append(np.full(arr.size, names.index(m.name), np.int16))  # over 100 names
            parts["world"].append(np.full(arr.size, m.world == "recorded", np.int8))
            parts["value"].append(arr.ravel())
        col = {k: np.concatenate(v) for k, v in parts.items()}
        col["value"][(col["value"] < 0.0) & (col["value"] > -ROUNDING)] = 0.0
        return pd.DataFrame({
            "week": col["week"],
            "date": dates[col["week"]],
            "place": pd.Categorical.from_codes(col["place"], places),
            "substance": pd.Categorical.from_codes(col["substance"], [*SUBSTANCE_NAMES, "all"]),
            "level": pd.Categorical.from_codes(col["level"], levels),
            "metric": pd.Categorical.from_codes(col["metric"], names),
            "world": pd.Categorical.from_codes(col["world"], ["true", "recorded"]),
            "value": col["value"],
        })


def _measure_enforcement(world: World) -> dict[tuple[str, str], np.ndarray]:
    """Prison population by role at arrest, corrupt officers, protection and its share of retail volume."""
    p, off = world.people, world.officers
    inside = np.flatnonzero(p.status == PRISON)
    by_role = np.zeros((4, N_SUBSTANCES))
    scatter_add(by_role, (np.minimum(p.role[inside], 3), p.substance[inside]), 1.0)
    serving = off.serving()
    drug = off.drug_police()
    wh = p.rows(WHOLESALE)
    prot = p.protector[wh]
    rd = p.rows(RETAIL)
    s_rd = p.substance[rd]
    volume = np.bincount(s_rd, p.demand_ewma[rd], N_SUBSTANCES)
    out = {("inmates", lv): by_role[i] for i, lv in enumerate(ROLE_LEVELS)}
    return out | {
        ("corrupt_officers", "police"): [np.count_nonzero(off.mode[serving] != HONEST)],
        ("protector_officers", "police"): [np.unique(prot[prot >= 0]).size],
        ("officer_tenure_weeks", "police"): [np.mean(world.t - off.since[drug]) if drug.size else 0.0],
        ("protected_dealers", "wholesale"): np.bincount(p.substance[wh[prot >= 0]], minlength=N_SUBSTANCES),
        ("protected_share", "retail"): _ratio(
            np.bincount(s_rd, p.demand_ewma[rd] * team_protected(p, rd), N_SUBSTANCES), volume),
    }


def _drug_officers(world: World) -> tuple[np.ndarray, np.ndarray]:
    """[place, 1] serving UBN and patrol officers, and those of them who are corrupt."""
    off, n = world.officers, world.geo.n
    drug = off.drug_police()
    corrupt = drug[off.mode[drug] != HONEST]
    return (np.bincount(off.place[drug], minlength=n)[:, None].astype(float),
            np.bincount(off.place[corrupt], minlength=n)[:, None].astype(float))


def _kin_share(p: People, rows: np.ndarray) -> float:
    """Share of `rows` in the kin community (0 when there are none)."""
    return float(np.count_nonzero(p.flags[rows] & COMMUNITY) / rows.size) if rows.size else 0.0


def _mean_by_substance(p: People, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    return _ratio(sum_by(rows, p.substance, values, N_SUBSTANCES), count_by(rows, p.substance, N_SUBSTANCES))


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
