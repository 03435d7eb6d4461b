"""The stylised facts of the thesis as code: one function each, readable next to the spec.

Each fact names its evidence (thesis line and respondent, from ../shared/spec/thesis-mechanisms.md
§3), the scenario it needs (the 2012 baseline or the anti-corruption reform), how the model's value is
measured from a run's time series, and its acceptance band. Bands are the spec's test as written;
where the spec gives only a direction or "high", the band is fixed here with a comment saying so, and
was not chosen after looking at results. Facts the model cannot speak to are listed with the reason. A
fact whose value an input or a fixed rule sets is marked `construction`: its pass is reported, but it
is not a test of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from northroute.world.state import REFORM_SWITCH, WEEKS_PER_YEAR

BASELINE, REFORM = "baseline", "reform"
# SF28's pair, run with the same seeds: managers liable from January 2014 (a counterfactual date, see
# scenarios/manager-liability.toml) and the same scenario without liability
LIABILITY, LIABILITY_OFF = "liability", "liability-off"
LIABILITY_SCENARIOS = {LIABILITY: "manager-liability", LIABILITY_OFF: "manager-liability-off"}
LIABILITY_YEAR = (2014,)  # the year after the switch-on
LEVELS = ("user", "retail", "wholesale", "trafficking")
PRE, POST = (2012, 2013), (2015, 2016, 2017)  # around the reform's 2015 switch
SCORED_YEARS = (PRE[0], POST[-1])  # first and last year any fact reads
LAX = (2012, 2013, 2014)  # SF8: before the switch, the end of the lax era the thesis describes (L888 [P12])
INF = float("inf")
# What a fact's measure can take; its 90% interval is cut to it (a t-interval over few seeds can reach a negative
# share). Most measures are counts, means or ratios of them; a share's numerator is a subset of its denominator;
# a difference can take either sign
NONNEGATIVE, SHARE, ANY = (0.0, INF), (0.0, 1.0), (-INF, INF)
# The thesis's fieldwork setting: 54 of 56 respondents are placed in "Northern Kazakhstan" (L2100-2180)
NORTH = ("KUS", "SEV", "PAV", "AKM")
SOUTH = ("ZHA", "YUZ", "ALA", "ALM", "KZY")
# SF41: the border posts of Kostanay (Kairak, L1066), North Kazakhstan (Karakoga, on the Petropavlovsk-Omsk road)
# and Pavlodar (Sharbakty) oblasts in data/places.csv, the "three main exit points for opiate trafficking" (L621,
# UNODC 2018a)
NORTHERN_EXITS = ("KAIRAK", "KARAKOGA", "SHARBAKTY")


@dataclass(frozen=True)
class Fact:
    id: str
    claim: str
    evidence: str
    metric: str  # what is measured, in words
    band: tuple[float, float]  # accepted values, inclusive
    scenario: str = BASELINE  # BASELINE, REFORM or LIABILITY
    measure: Callable[..., float] | None = None  # value of one run (and its twin's); None: not modelled
    reason: str = ""  # why the model cannot speak to it (when measure is None)
    twin: str = ""  # a scenario run with the same seeds; the measure then takes (run, twin's run)
    construction: str = ""  # the input or fixed rule that sets the value: then a pass is no test of the model
    known_miss: str = ""  # why it misses at the shipped defaults (ODD 1.2); shown only when it misses
    domain: tuple[float, float] = NONNEGATIVE  # the values the measure can take (SHARE, ANY)


# ------------------------------------------------------------------------------------- reading a run


# A year counts as whole when the run records all its weeks but one: a calendar year has 52 or 53 of the run's
# weekday, and a run of whole years may end a week short of its last (8 years are 417 weeks, 2012-2019 has 418
# Mondays). Until session 16 any 50 weeks counted, so a start on 2012-01-23 scored 2012 three weeks short
WEEKS_SHORT = 1


def frame(ts: pd.DataFrame) -> pd.DataFrame:
    """A run's time series with a year column and plain strings (fast filtering), knowing its whole years."""
    ts = ts.assign(year=pd.to_datetime(ts["date"]).dt.year)
    ts = ts.astype({c: str for c in ("place", "substance", "level", "metric", "world")})
    ts.attrs["full_years"] = full_years(ts)
    return ts


def full_years(ts: pd.DataFrame) -> set[int]:
    """The years the run records whole: sums over a year it covers only in part would be read as a year's."""
    if "full_years" in ts.attrs:
        return ts.attrs["full_years"]
    return _whole_years(pd.to_datetime(pd.Series(ts["date"].unique())))  # one date per recorded week


def _whole_years(weeks: pd.Series) -> set[int]:
    if weeks.empty:
        return set()
    weekday = int(weeks.iloc[0].weekday())  # weeks are 7 days apart: every recorded date falls on this weekday
    counts = weeks.dt.year.value_counts()
    return {int(y) for y, n in counts.items() if n >= _weekdays_in(int(y), weekday) - WEEKS_SHORT}


def _weekdays_in(year: int, weekday: int) -> int:
    """How many days of `year` fall on `weekday` (52, or 53 for the year's first one or two weekdays)."""
    days = pd.date_range(date(year, 1, 1), date(year, 12, 31))
    return int(np.count_nonzero(days.day_of_week == weekday))


def missing_years(start: date, weeks: int) -> list[int]:
    """The years the facts read (2012, before the reform, to 2017, after it) that a run of `weeks` recorded
    weeks from `start` would not record whole: without them the reform's facts have nothing to compare."""
    recorded = _whole_years(pd.Series(pd.date_range(start, periods=weeks, freq="7D")))
    return [y for y in range(SCORED_YEARS[0], SCORED_YEARS[1] + 1) if y not in recorded]


def years_needed(start: date) -> float | None:
    """The shortest run length (years, to 0.01) from `start` that records every year the facts read, or None
    when no length does (a start too late in 2012, or after it)."""
    lo, hi = 1, round(30 * WEEKS_PER_YEAR)
    if missing_years(start, hi):
        return None
    while lo < hi:  # more weeks never record fewer years
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if missing_years(start, mid) else (lo, mid)
    return np.ceil(lo / WEEKS_PER_YEAR * 100) / 100


def coverage_gap(start: date, weeks: int) -> str:
    """'' when a run of `weeks` recorded weeks from `start` records every year the facts read, else the years it
    misses and the run length that would record them: the refusal of `validate` and `calibrate` (whose targets
    read the same years) names what to type."""
    gap = missing_years(start, weeks)
    if not gap:
        return ""
    need = years_needed(start)
    hint = f"--years {need:g} or more" if need else f"no run from {start} records them all"
    return f"does not record {', '.join(map(str, gap))} ({hint})"


def _sel(ts: pd.DataFrame, metric: str, level: str, world: str = "true", years: Iterable[int] | None = None,
         substance: str | None = None, national: bool = True) -> pd.DataFrame:
    d = ts[(ts.metric == metric) & (ts.level == level) & (ts.world == world) & ((ts.place == "KZ") == national)]
    if years is not None:
        d = d[d.year.isin(years)]
    if substance is not None:
        d = d[d.substance == substance]
    return d


def total(ts: pd.DataFrame, metric: str, level: str, world: str = "true", years: Iterable[int] | None = None,
          substance: str | None = None) -> float:
    """Sum of a national weekly count; no value when the run does not cover each of `years` whole."""
    if years is not None and not set(years) <= full_years(ts):
        return np.nan
    return float(_sel(ts, metric, level, world, years, substance).value.sum())


def state(ts: pd.DataFrame, metric: str, level: str, years: Iterable[int] | None = None, substance: str | None = None,
          national: bool = True) -> float:
    """Mean over weeks of a state, summed over drugs (and over regions when not national)."""
    d = _sel(ts, metric, level, "true", years, substance, national)
    return float(d.groupby("week").value.sum().mean()) if len(d) else np.nan


def ratio(num: float, den: float) -> float:
    return num / den if den else np.nan


def _hazard(ts: pd.DataFrame, years: tuple[int, ...], protected: bool) -> float:
    """Yearly arrest hazard of wholesalers with (or without) police protection."""
    prot = state(ts, "protected_dealers", "wholesale", years)
    all_wh = state(ts, "dealers", "wholesale", years, national=False)
    caught_p = total(ts, "arrests_protected", "wholesale", years=years)
    if protected:
        return ratio(caught_p, prot * len(years))
    return ratio(total(ts, "arrests", "wholesale", years=years) - caught_p, (all_wh - prot) * len(years))


def _price(ts: pd.DataFrame, level: str, substance: str, years: Iterable[int] | None = None,
           places: tuple[str, ...] = ("KZ",)) -> float:
    d = ts[(ts.metric == "price") & (ts.level == level) & (ts.substance == substance) & ts.place.isin(places)]
    if years is not None:
        d = d[d.year.isin(years)]
    return float(d.value.mean())


def _seized(ts: pd.DataFrame, substance: str, year: int, world: str = "true") -> float:
    return total(ts, "seizures_total_g", "police", world, (year,), substance)


# ------------------------------------------------------------------------------------------ measures


def sf1(ts: pd.DataFrame) -> float:
    arrests = {lv: total(ts, "arrests", lv) for lv in LEVELS}
    return ratio(arrests["user"] + arrests["retail"], sum(arrests.values()))


def sf2(ts: pd.DataFrame) -> float:
    return float(_sel(ts, "team_size", "wholesale").groupby("week").value.mean().mean())  # over drugs, then weeks


def sf3_handovers(ts: pd.DataFrame) -> float:
    return float(_sel(ts, "handovers", "user").value.replace(0, np.nan).mean())


def sf3_one_off(ts: pd.DataFrame) -> float:
    return float(_sel(ts, "one_off_pairs", "wholesale").value.replace(0, np.nan).mean())


def sf6(ts: pd.DataFrame) -> float:
    disputes = {m: total(ts, m, "retail") for m in ("disputes", "disputes_vory", "disputes_violent")}
    return ratio(disputes["disputes_violent"], sum(disputes.values()))


def sf7(ts: pd.DataFrame) -> float:
    return ratio(total(ts, "entrants_introduced", "wholesale"), total(ts, "entrants", "wholesale"))


def _kin_upper(ts, years) -> float:
    """Mean share of the upper tier (wholesalers and traffickers) in the kin community over `years`."""
    return float(_sel(ts, "community_share_upper", "wholesale", years=years).value.mean())


def sf8(ts: pd.DataFrame) -> float:
    """The kin group's share of the upper tier over its population share, in the lax era.

    Denominator, chosen from the spec's words before any value was seen: SF8's test reads "well above its
    population share", so the kin share among everyone in the modelled population (users, dealers and
    traffickers), not among users only. Years: 2012-2014 of the baseline run, before the 2015 switch (the
    thesis's dominance period runs "from 2005 until around 2012", L888 [P12], and the model starts in 2012)."""
    return ratio(_kin_upper(ts, LAX), float(_sel(ts, "community_share_all", "user", years=LAX).value.mean()))


def _kin_upper_change(ts: pd.DataFrame) -> float:
    return ratio(_kin_upper(ts, (2017,)), _kin_upper(ts, (2014,)))


def sf9(ts: pd.DataFrame) -> float:
    return ratio(total(ts, "entrants_prison_tie", "wholesale"), total(ts, "entrants", "wholesale"))


def sf9_prior(ts: pd.DataFrame) -> float:
    """Share of convicted dealers with a prior term. Pool buyers and users framed as distributors are charged
    with organised sale but are not counted: P23's convicted groups "do business together" (L1199), and of
    the users jailed for pooling a wholesaler says "they don't trade at all" (L970 [DE2]); SF10 reads them
    as non-dealers too. Until session 14 everyone charged with sale, organised sale or smuggling was counted,
    two thirds of them pool buyers, so the share mostly read back the users' assumed record share."""
    return ratio(total(ts, "convictions_sellers_prior", "retail"), total(ts, "convictions_sellers", "retail"))


def sf10(ts: pd.DataFrame) -> float:
    """Share of users who ever sold, among those whose whole using career lies inside the run and who have
    used at least `record.LIFETIME_MIN_YEARS` (2) years: users already using at the start count as never
    having sold before it, which biases a lifetime share down. Read in the run's last year, when the cohort
    spans careers of 2 to about 8 years; the mean over drugs, as before.

    Pooled buying for friends does not count as dealing here, though the law counts it as distribution (M35,
    L976 [DE1][DE2]): P32's users deal "to sponsor [their] addiction" (L690), for income, while a pool's
    buyer only shares a discount, and of the users jailed for it a wholesaler says "they don't trade in
    drugs, they don't trade at all" (L970 [DE2])."""
    last = ts.year.max()
    return float(_sel(ts, "ever_sold_share_career", "user", years=(last,)).value.mean())


def sf12(ts: pd.DataFrame) -> float:
    return ratio(total(ts, "convictions_pooled", "user"), total(ts, "convictions_dealers", "retail"))


def sf13(ts: pd.DataFrame) -> float:
    eligible = sum(total(ts, "arrests", lv) for lv in ("retail", "wholesale", "trafficking"))
    return ratio(total(ts, "cooperations", "retail"), eligible + total(ts, "convictions_pooled", "user"))


def sf14(ts: pd.DataFrame) -> float:
    return ratio(_price(ts, "retail", "heroin"), _price(ts, "wholesale", "heroin"))


def sf15(ts: pd.DataFrame) -> float:
    return ratio(_price(ts, "retail", "marijuana"), _price(ts, "wholesale", "marijuana"))


def sf15_order(ts: pd.DataFrame) -> float:
    return sf15(ts) - sf14(ts)


def sf16(ts: pd.DataFrame) -> float:
    north, south = ("KUS", "SEV", "PAV"), ("ZHA", "YUZ", "ALA")
    return ratio(_price(ts, "wholesale", "heroin", places=north), _price(ts, "wholesale", "heroin", places=south))


def sf17(ts: pd.DataFrame) -> float:
    years = sorted(full_years(ts))
    if not years:
        return np.nan
    return ratio(_price(ts, "retail", "heroin", (years[-1],)), _price(ts, "retail", "heroin", (years[0],)))


def sf19(ts: pd.DataFrame) -> float:
    shares = []
    for year in sorted(full_years(ts)):  # a part year may miss the cannabis harvest months
        grams = {s: _seized(ts, s, year, "recorded") for s in ("heroin", "marijuana", "hashish")}  # as Table 5.5
        shares.append(ratio(grams["marijuana"] + grams["hashish"], sum(grams.values())))
    return float(np.nanmin(shares)) if np.isfinite(shares).any() else np.nan


def sf20(ts: pd.DataFrame) -> float:
    return ratio(_seized(ts, "heroin", 2017, "recorded"), _seized(ts, "heroin", 2015, "recorded"))


def sf24(ts: pd.DataFrame) -> float:
    cases = _sel(ts, "registered_crimes", "police", "recorded", national=False)
    cases = cases[cases.place.isin(NORTH)]
    return ratio(cases[cases.substance == "heroin"].value.sum(), cases.value.sum())


def sf25(ts: pd.DataFrame) -> float:
    return float(_sel(ts, "protected_share", "retail").groupby("week").value.mean().mean())


def sf25_hazard(ts: pd.DataFrame) -> float:
    years = tuple(sorted(ts.year.unique()))
    return _hazard(ts, years, False) - _hazard(ts, years, True)


def sf26(ts: pd.DataFrame) -> float:
    """Corrupt share of the drug police (UBN and patrol) in the northern regions over the same share in the
    rest of the country, pooled over the run's weeks."""
    def officers(metric, north: bool):
        d = _sel(ts, metric, "police", national=False)
        return d[d.place.isin(NORTH) == north].value.sum()
    return ratio(ratio(officers("corrupt_drug_officers", True), officers("drug_officers", True)),
                 ratio(officers("corrupt_drug_officers", False), officers("drug_officers", False)))


def sf37_red(ts: pd.DataFrame) -> float:
    """Vory clients' share of the wholesalers in the third of the regions with the most drug officers per
    dealer (the "red" ones, L850 [P5]) over the same share in the third with the fewest, pooled over the
    run's weeks."""
    def by_region(metric, level):
        d = _sel(ts, metric, level, national=False)
        return d.groupby("place", observed=True).value.sum()
    clients, wholesalers = by_region("vory_clients", "wholesale"), by_region("dealers", "wholesale")
    strength = by_region("drug_officers", "police") / (by_region("dealers", "retail") + wholesalers)
    ranked = strength.dropna().sort_values().index
    third = len(ranked) // 3

    def share(places):
        return ratio(clients[places].sum(), wholesalers[places].sum())
    return ratio(share(ranked[-third:]), share(ranked[:third]))


def sf27_step(ts: pd.DataFrame) -> float:
    return (total(ts, "corruption_convictions", "police", years=POST) / len(POST)
            - total(ts, "corruption_convictions", "police", years=PRE) / len(PRE))


def sf27_dyads(ts: pd.DataFrame) -> float:
    """Of the protection deals standing when the reform took effect (the last week of 2014), the share ended by
    the arrest of the client or his protector in 2015-2017. Until session 12 the numerator also counted deals
    made after the switch (6-11% of it nationally)."""
    standing = _sel(ts, "switch_deals", "wholesale")
    standing = standing[standing.date == pd.Timestamp(REFORM_SWITCH) - pd.Timedelta(weeks=1)].value.sum()
    return ratio(total(ts, "switch_deals_ended_by_arrest", "wholesale", years=POST), standing)


def sf28(ts: pd.DataFrame, twin: pd.DataFrame) -> float:
    """Convictions of regular (UBN and patrol line) police in the year after managers became liable, over
    the same in the twin without liability. The expected count (corrupt line officers x the monthly
    detection chance) is used instead of the draws: the same quantity, without the binomial noise of a
    few convictions a year at small scales."""
    def expected(t):
        return total(t, "line_corruption_expected", "police", years=LIABILITY_YEAR)
    return ratio(expected(ts), expected(twin))


def sf29(ts: pd.DataFrame) -> float:
    return ratio(_hazard(ts, POST, True), _hazard(ts, POST, False))


def sf29_sentence(ts: pd.DataFrame) -> float:
    protected = ratio(total(ts, "sentence_years_protected", "wholesale", years=POST),
                      total(ts, "convictions_protected", "wholesale", years=POST))
    officers = ratio(total(ts, "officer_sentence_years", "police", "recorded", POST),
                     total(ts, "corruption_convictions", "police", years=POST))
    return protected - officers


def against_baseline(change: Callable[[pd.DataFrame], float]) -> Callable[[pd.DataFrame, pd.DataFrame], float]:
    """A reform effect: the change within the reform run over the same change in the baseline run of the same
    seed, for claims that the reform caused a change the baseline also drifts in."""
    def effect(reform: pd.DataFrame, baseline: pd.DataFrame) -> float:
        return ratio(change(reform), change(baseline))
    return effect


def _career_change(ts: pd.DataFrame) -> float:
    def career(years):
        return ratio(total(ts, "tenure_weeks", "retail", years=years), total(ts, "leavers", "retail", years=years))
    return ratio(career((2016, 2017)), career(PRE))


sf30_career = against_baseline(_career_change)
# SF8's decline is the reform's doing only beyond the baseline's own drift, so it is measured against the baseline
# run of the same seed (decided before looking at values)
sf8_decline = against_baseline(_kin_upper_change)


def sf30_tenure(ts: pd.DataFrame) -> float:
    return ratio(state(ts, "officer_tenure_weeks", "police", (2017,)), state(ts, "officer_tenure_weeks", "police",
                                                                              (2014,)))


def _export_share_change(ts: pd.DataFrame) -> float:
    def export_share(years):
        exported = _sel(ts, "exports_g", "trafficking", years=years, substance="heroin", national=False)
        bought = _sel(ts, "purchases_g", "wholesale", years=years, substance="heroin", national=False)
        return ratio(exported.value.sum(), exported.value.sum() + bought.value.sum())
    return ratio(export_share((2016, 2017)), export_share(PRE))


sf31 = against_baseline(_export_share_change)


def _heroin_inflow_change(ts: pd.DataFrame) -> float:
    def inflow(years):
        return _sel(ts, "route_flow_g", "trafficking", years=years, substance="heroin", national=False).value.sum()
    return ratio(inflow((2016, 2017)), inflow(PRE))


sf31_inflow = against_baseline(_heroin_inflow_change)


def sf33_truck_search(ts: pd.DataFrame) -> float:
    """Chance a truck crossing the border is searched, weighted by each crossing's truck traffic, mean over the
    run's weeks.

    Weighting, chosen before any value was seen: by the legitimate truck traffic of each crossing
    (data/places.csv), not by the crossings of drug lots. The spec's test is the inspection chance per truck
    "given 3,000/day" (L1241 [P20]), a property of the traffic in which lots hide, and it should not turn on
    which routes the assumed route shares (data/route_shares.csv) load with lots."""
    return float(_sel(ts, "truck_search_chance", "trafficking").value.mean())


def sf33_cars_over_trucks(ts: pd.DataFrame) -> float:
    """Cars' share of the weight seized at crossings over their share of the weight carried, over the same for
    long-distance trucks.

    Chosen before any value was seen: all drugs pooled (the claim is about vehicles and customs, L1072 [DE3];
    heroin and marijuana are hidden alike, L1070 [P6]); "carried" is the weight put on the routes in each cover;
    seizures are those at border crossings only (the Koknar raids at the Chu Valley do not search vehicles);
    the whole run. The shares' totals cancel, so it is grams seized per gram carried, cars over trucks."""
    def seized_over_carried(cover: str) -> float:
        return ratio(total(ts, f"seizures_{cover}_g", "trafficking"), total(ts, f"supply_{cover}_g", "trafficking"))
    return ratio(seized_over_carried("car"), seized_over_carried("truck"))


def sf34(ts: pd.DataFrame) -> float:
    """Registered sale crimes per person charged with sale. L1908 calls its 2,266 "drug-related crimes"; they are read
    here as sale crimes: L1910 explains the gap by each controlled purchase from a dealer registered as a case,
    and official counts put all drug crimes far higher (7,972 in 2017, EHRA) and sale crimes near 2,300 a year
    (13,000 of 19,000 in five years, MVD; "only 30% of criminal cases" against sellers, GP 2018; ODD 1.2)."""
    return ratio(total(ts, "sale_crimes", "police", "recorded"), total(ts, "dealers_prosecuted", "police",
                                                                       "recorded"))


def sf43(ts: pd.DataFrame) -> float:
    """Foreign couriers caught entering with their supplier's heroin, among everyone charged with smuggling.
    Behera's 50% (L1239) counts citizens of all post-Soviet countries; the model counts as foreign only the
    suppliers' men from Kyrgyzstan and Uzbekistan (L1090 [P5]), not Russians caught at the northern exits."""
    return ratio(total(ts, "foreign_courier_arrests", "trafficking"), total(ts, "arrests", "trafficking", "recorded"))


def sf35(ts: pd.DataFrame) -> float:
    convicted = sum(total(ts, "convictions", lv, "recorded") for lv in LEVELS)
    return ratio(convicted, convicted + total(ts, "acquittals", "police", "recorded"))


def sf36(ts: pd.DataFrame) -> float:
    return ratio(total(ts, "sentence_years", "wholesale", "recorded", substance="heroin"),
                 total(ts, "convictions", "wholesale", "recorded", substance="heroin"))


def sf41(ts: pd.DataFrame) -> float:
    """Share of the heroin sold in Russia that left Kazakhstan through the three northern exits.

    Heroin only, chosen before any value was seen: the evidence is about opiates (L621: "three main exit
    points for opiate trafficking"; L1277 [P13] traces heroin south to centre to north); the thesis names no
    exit points for cannabis, whose routes in data/routes.csv follow the CADAP heroin routes by assumption."""
    exits = _sel(ts, "exits_g", "trafficking", substance="heroin", national=False)
    return ratio(exits[exits.place.isin(NORTHERN_EXITS)].value.sum(), exits.value.sum())


def sf39(ts: pd.DataFrame) -> float:
    years = sorted(ts.year.unique())
    users = _sel(ts, "users", "user", substance="heroin", national=False)
    by_year = users.groupby(["year", "week"]).value.sum().groupby("year").mean()
    return ratio(by_year[years[-1]], by_year[years[0]])


def sf40(ts: pd.DataFrame) -> float:
    users = _sel(ts, "users", "user", national=False)
    zone = {place: "north" for place in NORTH} | {place: "south" for place in SOUTH}
    users = users.assign(zone=users.place.map(zone)).dropna(subset=["zone"])
    share = users.groupby(["zone", "substance"]).value.sum().unstack()
    share = share["heroin"] / share.sum(axis=1)
    return ratio(share.get("north", np.nan), share.get("south", np.nan))


# ------------------------------------------------------------------------------------------ the list

SF34_CONSTRUCTION = ("each sale charge registers one crime plus policing.test_purchases (2, its mean an assumption "
                     "read from L1910) times quota pressure for the extra controlled purchases; a courier one")

FACTS: tuple[Fact, ...] = (
    Fact("SF1", "Users and retail dealers make up most drug arrests", "L966, L1054-1058 [P13], L1084, L1946",
         "(user + retail arrests) / all arrests, true world", (0.7, 1.0), measure=sf1, domain=SHARE),
    Fact("SF2", "A wholesaler works with 6-8 retail dealers", "L1022 [P23]",
         "mean retail team per wholesaler (mean of the three drugs)",
         (4.0, 10.0), measure=sf2,
         construction="teams start at 7 and are capped at relations.contact_cap = 8: only the lower bound "
         "tests the model"),
    Fact("SF3", "Chains are short: 3-5 hand-overs from the border to the user", "L1962 [P22], L1022 [P23]",
         "grams-weighted hand-overs from trafficker to consumer (mean of the three drugs)", (3.0, 5.0),
         measure=sf3_handovers,
         construction="a gram takes 3 hand-overs, or 4 through a mid-level leader; the mix follows "
         "market.leader_share (an assumption)"),
    Fact("SF3b", "Buyer-seller ties are often single-purpose", "L1008-1010 [DE1][DE2][DE12]",
         "share of the trafficker-wholesaler ties used in the last year that were used only once since they "
         "were made", (0.5, 1.0), measure=sf3_one_off, domain=SHARE),
    # band: the spec says "high" [interp]; fixed here at a majority
    # band: "little competitive violence" (the spec's words; L842: "low competitive violence") gives no number; 0.1
    # is an [interp] fixed before the rule was built. The value depends on assumed parameters: the chance the police
    # notice violence and crack down (policing.crackdown_chance, an assumption) and the worth of a year inside
    # (market.prison_time_weight). Measured after building (scale 0.1, seeds 0-1, baseline): 0 at the default chance
    # 0.5; 0.003 at 0.01, about 0.08 at 0.003, 0.2 at 0.001, 0.74 at 0 (no crackdown to fear).
    # The spec's second test (disputes mostly settled without force, L844, M17) is 1 minus this share and is
    # not scored separately.
    Fact("SF6", "Markets are peaceful", "L838-844 (11 respondents)",
         "share of cheating disputes that turn violent (a strelka)", (0.0, 0.1), measure=sf6, domain=SHARE),
    Fact("SF7", "Every entrant to the upper tier had an introducer", "L1141, L1151 [DE2], L1161 [DE9]",
         "wholesale entrants with an introducer / all", (1.0, 1.0), measure=sf7,
         construction="promotion requires an introducer (relations.need_introducer)", domain=SHARE),
    Fact("SF8", "A Roma-like kin group dominates the larger lots", "L886 [P16], L888 [P12]",
         "kin share of wholesalers and traffickers / kin share of everyone in the market, 2012-2014", (2.0, INF),
         measure=sf8,
         construction="the run starts in 2012 with the community holding relations.community_upper_start (0.5) of "
         "the upper tier, the dominance built up since 2005 (L888 [P12]); SF8b, its end, is the test"),
    # band: "well above its population share" [interp]; fixed here at double
    Fact("SF8b", "... and its dominance ends with the anti-corruption campaign", "L888-890 [P12]",
         "kin share of wholesalers and traffickers, 2017 / 2014, reform run over baseline run", (0.0, 1.0 - 1e-9),
         REFORM, sf8_decline, twin=BASELINE),
    # band: the spec's direction ("that share should fall"); a share that falls to nothing counts as a fall
    Fact("SF9", "Prison ties feed the upper tiers", "L1199 [P23]",
         "share of wholesale entrants who have a tie formed in prison", (0.5, 1.0), measure=sf9,
         known_miss=("on the band's lower edge, where the seeds decide it (it passed in sessions 28-29): kin "
                     "wholesalers introduce kin, who rarely have prison ties, and most prisoners are users and retail "
                     "dealers (ODD 1.2)"),
         domain=SHARE),
    Fact("SF9b", "... and most members of convicted groups have served time", "L1199 [P23]",
         "share of convicted dealers (retail dealers, wholesalers, traffickers; not pool buyers or users framed as "
         "distributors) who had served a prison term before",
         (0.5, 0.9), measure=sf9_prior, domain=SHARE),
    # on the band's lower edge, where the seeds decide it: 0.501 [0.497, 0.505] since session 37 (a pass), a miss
    # from session 21 to 36 (the Northern Route's decline leaves fewer heroin users, so fewer dealers with records);
    # a first term cuts legal income, so released users deal more (L980 [DE1]), which lifts it by about ten points
    # band: P23's "ten people, 7 of them with criminal records, were in prison together" (L1199) +-20 points,
    # fixed here before any value of this measure was seen (session 12). The model convicts dealers one by one,
    # not as groups, so everyone convicted of sale, organised sale or smuggling stands in for the groups' members.
    Fact("SF10", "Most users deal at some point", "L690 [P32]", "share of users who ever sold, among those who "
         "started using in the run and have used 2+ years, in its last year", (0.7, 1.0), measure=sf10,
         known_miss=("retail places are few and careers last years: neither the screened assumption ranges nor "
                     "careers of half a year reach the band (facts search; ODD 1.2, docs/studies.md)"),
         domain=SHARE),
    Fact("SF12", "Pooled buyers are a visible share of distribution convictions", "L976, L1084 [P11], L970-972 [DE2]",
         "pool buyers convicted as distributors / distribution convictions", (1e-9, 1.0), measure=sf12,
         construction="a pool's buyer whose purchase is documented is charged with organised sale (M35), so the band "
         "(> 0) holds once any such buyer is convicted; the share itself rests on policing.pool_visibility (an "
         "assumption) and policing.sale_documented", domain=SHARE),
    Fact("SF13", "Formal cooperation is almost never obtained", "L1956 [P23], L1942",
         "registered cooperating witnesses per dealer or pool-buyer arrest", (0.002, 0.03), measure=sf13,
         construction="justice.cooperation_rate = 0.01"),
    # band: the spec's "~0.01"; fixed here at 0.002-0.03
    Fact("SF14", "Heroin retail is worth ~2-2.7x wholesale per gram", "Table 5.6, L1382-1390",
         "national retail / wholesale heroin price", (1.8, 3.0), measure=sf14),
    Fact("SF15", "Marijuana markups are 2.5-6x", "Table 5.6, L1380-1394", "national retail / wholesale marijuana price",
         (2.5, 6.0), measure=sf15),
    Fact("SF15b", "Cannabis markups exceed heroin's", "Table 5.6, L1380-1390", "marijuana ratio minus heroin ratio",
         (1e-9, INF), measure=sf15_order, domain=ANY),
    Fact("SF16", "Prices rise south to north", "L1404 [P7], L1331, L1374 [DE9]",
         "heroin wholesale price in KUS, SEV, PAV / in ZHA, YUZ, ALA", (1.0 + 1e-9, INF), measure=sf16),
    Fact("SF17", "Rising enforcement raised the retail heroin price several-fold", "L1378, L2031 (CADAP)",
         "retail heroin price, last year / first year of the reform run", (3.0, 8.0), REFORM, sf17,
         known_miss=("the Northern Route's decline, the arrest-risk premium and route displacement raise the retail "
                     "heroin price most by 2016, and it eases back by 2019 as users quit and the decline stops after "
                     "2016; the band is CADAP's 2010-2016 rise, a longer window, and the thesis's own retail prices "
                     "rise less (ODD 1.2)")),
    Fact("SF19", "Cannabis is >= 95% of seized weight every year", "Table 5.5, L1361-1370",
         "smallest yearly cannabis share of all seizures", (0.95, 1.0), measure=sf19, domain=SHARE),
    Fact("SF20", "Heroin seizures fall after the reform", "Table 5.5, L1365-1367",
         "recorded heroin seizures 2017 / 2015", (0.2, 0.6), REFORM, sf20,
         known_miss=("the seeds scatter widely: the Northern Route's decline (an input read from CADAP's Central "
                     "Asian seizures, which include Kazakhstan's) lowers the flow by 18% from 2015 to 2016 and stops "
                     "after 2016, and the reform's displacement keeps the expected weight seized level (ODD 1.2)")),
    Fact("SF23", "Kazakhstan supplies most of Russia's cannabis", "L1331 [P18]", "share of Russian supply",
         (0.7, 1.0), reason="Russia's other suppliers are not modelled"),
    Fact("SF24", "Heroin dominates investigators' caseloads (8 of 10)", "L1349 [P12], a northern investigator (L2131)",
         "heroin share of drug crimes registered in the northern regions (KUS, SEV, PAV, AKM)", (0.7, 0.9),
         measure=sf24,
         known_miss=("below the band since most arrested dealers are charged with possession, one registered crime "
                     "instead of a sale charge's controlled purchases (session 28); it passes at few points of the "
                     "facts searches, with long retail careers and a small marijuana flow (ODD 1.2, "
                     "docs/studies.md)"), domain=SHARE),
    # band: the spec's ~80%; fixed here at +-10 points
    Fact("SF25", "Before the reform police control most retail volume", "L1590 [O3], L1652 [DE2]",
         "share of retail volume sold under protection (mean of the three drugs)", (0.5, 1.0), measure=sf25,
         domain=SHARE),
    Fact("SF25b", "Unprotected dealers are caught sooner", "L1652 [DE2]",
         "yearly arrest hazard of unprotected minus protected wholesalers", (1e-9, INF), measure=sf25_hazard,
         domain=ANY),
    Fact("SF26", "Corruption is regional and lowest in the north", "L621 (Van Dijk et al. 2018), L1654, L1756",
         "corrupt share of drug officers, northern regions (KUS, SEV, PAV, AKM) / the rest of the country",
         (0.0, 1.0 - 1e-9), measure=sf26,
         construction="officers' moral cost of corruption is higher in the north and lower in Almaty and South "
         "Kazakhstan (data/places.csv, corruption.regional_spread); the spec's other test, that flows do not need "
         "corruption, holds by construction too: routes and their shares are inputs"),
    # band: the spec's direction ("lowest in the north"), fixed before the rule was built
    Fact("SF27", "Corruption convictions step up after the switch", "L1702-1704",
         "corrupt officers convicted a year, 2015-17 minus 2012-13 (simulated rows)", (1e-9, INF), REFORM, sf27_step,
         domain=ANY),
    Fact("SF27b", "Most pre-switch corrupt deals end in arrest within ~3 years", "L215, L1708-1712 [P19]",
         "of the deals standing at the switch, the share ended by arrest in 2015-17", (0.5, 1.0), REFORM, sf27_dyads,
         known_miss=("fewer than half of the deals standing at the switch end in an arrest: most end when the "
                     "protector turns honest or leaves, and a protector who stops hands over only part of his "
                     "clients (corruption.sacrifice, an assumption); it passed until session 12 only because deals "
                     "made after the switch were counted too (ODD 1.2)"), domain=SHARE),
    # band: "a large fraction" [interp]; fixed here at half
    Fact("SF28", "Manager liability cuts corruption arrests ~20% in a year", "L1704",
         "expected convictions of regular police in 2014, managers liable from 2014 / not liable (same seeds)",
         (0.7, 0.9), LIABILITY, sf28, twin=LIABILITY_OFF),
    Fact("SF29", "After the switch protection becomes a liability", "L1108, L1112 [P4][O6], L2081",
         "arrest hazard of protected / unprotected wholesalers, 2015-17", (1.0 + 1e-9, INF), REFORM, sf29),
    Fact("SF29b", "Protected dealers' sentences exceed their officers'", "L1108",
         "mean sentence of protected wholesalers minus of convicted officers, 2015-17 (years)", (1e-9, INF), REFORM,
         sf29_sentence,
         construction="sentences are inputs: data/sentences.csv plus anticorruption.bribery_years for protected "
         "wholesalers, anticorruption.sentence_years for officers; the mix of drugs and of clients handed over "
         "without the bribery charge sets the margin", domain=ANY),
    Fact("SF30", "After the switch retail careers shorten", "L1890 [DE3]",
         "mean retail career of leavers, 2016-17 / 2012-13, reform run over baseline run", (0.0, 1.0 - 1e-9),
         REFORM, sf30_career, twin=BASELINE,
         known_miss=("the reform raises retail dealers' arrest hazard, but the arrested are the longest-serving, so "
                     "the mean career of leavers barely moves against the baseline (ODD 1.2)")),
    # measured against the baseline: retail careers shorten there too (ODD), which is not the reform's doing
    Fact("SF30b", "After the switch drug officers' tenure falls", "L1888 [P3]",
         "mean tenure of drug officers 2017 / 2014", (0.0, 1.0 - 1e-9), REFORM, sf30_tenure),
    Fact("SF31", "Heroin shifts from domestic sale to export (hypothesis)", "L2031, L2081",
         "heroin sold in Russia / (sold in Russia + bought by Kazakh wholesalers), 2016-17 / 2012-13, reform "
         "run over baseline run", (1.0 + 1e-9, INF), REFORM, sf31, twin=BASELINE),
    # band: the spec's direction (export share rises); the thesis hedges it, a prediction more than a target
    Fact("SF31b", "... and less heroin flows through Kazakhstan (hypothesis)", "L2081, L1225 (CADAP)",
         "heroin entering Kazakhstan, 2016-17 / 2012-13, reform run over baseline run", (0.0, 1.0 - 1e-9), REFORM,
         sf31_inflow, twin=BASELINE),
    # the spec's second test of SF31 ("total heroin flow through Kazakhstan should decline if costs rise")
    Fact("SF33", "Legitimate traffic overwhelms inspection: a truck is rarely searched", "L1241 [P20], L1243 [P30]",
         "chance a truck crossing the border is searched, crossings weighted by their trucks per day",
         (0.0, 0.005), measure=sf33_truck_search,
         construction="inspections and trucks per day at each crossing are inputs (data/places.csv; most are "
         "assumptions), scaled by trafficking.inspection_multiplier and truck_attention (assumptions); only "
         "customs corruption, which waives searches, moves it. The multiplier (0.01 since session 25) was set "
         "so that crossings seize about a tenth of the recorded heroin (L1317 [P23], customs' 2013 figure), "
         "not to this band; at 0.1 it missed (0.8%)"),
    # band: the spec's "<< 1%" [interp], fixed here before any run of this measure at half a per cent: "much less
    # than" one per cent should not admit 0.9%, which the placeholder band of the unmeasured row (below 1%) did.
    # Not blind to the inputs: the ODD already gave the per-post chances without customs corruption (0.66% at
    # Kordai, 1.5-2.2% at the Russian-border posts)
    Fact("SF33b", "... and light vehicles are searched more than long-distance trucks", "L1072 [DE3], L1313 [DE7]",
         "cars' share of weight seized at crossings / their share of weight carried, over the same for trucks",
         (1.0 + 1e-9, INF), measure=sf33_cars_over_trucks,
         construction="a car is picked for a search trafficking.car_attention / truck_attention = 3 times as "
         "often as a truck at the same crossing (assumptions read from L1072 [DE3], L1313 [DE7]); lots keep "
         "their cover on every route"),
    # band: the spec's direction (light vehicles' seized share relative to their carried share exceeds trucks')
    Fact("SF34", "Recorded crimes exceed dealers prosecuted", "L1908-1912",
         "registered sale crimes / people charged with sale", (1.0 + 1e-9, INF), measure=sf34,
         construction=SF34_CONSTRUCTION),
    Fact("SF34b", "... by about three times (2,266 / 733 in 2017)", "L1908",
         "registered sale crimes / people charged with sale", (2.0, 4.0), measure=sf34,
         construction=SF34_CONSTRUCTION),
    # band: the spec's "targeting ~3"; fixed here at 2-4. Until session 11 the numerator was every registered
    # drug crime (6.3 nationally, a miss): the reading changed after that miss was seen, on the evidence in
    # sf34's docstring, and the new reading passes by construction (ODD 1.2)
    Fact("SF35", "Conviction once charged is near-certain", "L1906 [O7]", "convictions / (convictions + acquittals)",
         (0.99, 1.0), measure=sf35,
         construction="justice.conviction_rate = 0.999", domain=SHARE),
    Fact("SF36", "Extra-large cases bring 10-15 years", "L1084 [P16], L972 [DE2]",
         "mean sentence of heroin convictions charged as organised sale (years)", (10.0, 15.0), measure=sf36,
         construction="sentences are read from data/sentences.csv"),
    # the spec asks for the median of >1 g heroin distribution sentences; the model records the mean by level
    Fact("SF37", "The Vory are weaker where the police are strong", "L850 [P5][P32][P28], L852-854 [DE7]",
         "Vory clients' share of wholesalers, third of regions with most drug officers per dealer / with fewest",
         (0.0, 1.0 - 1e-9), measure=sf37_red,
         construction="the chance of buying Vory protection falls with the region's drug officers per dealer "
         "(relations.vory_police_elasticity, M68); the spec's other tests hold by construction too: the fee is "
         "relations.vory_fee (a tenth, L854 [DE7]) and the Vory trade nothing"),
    # band: the spec's direction ("fewer in high-police-strength cities"), fixed before the measure was run
    Fact("SF38", "Respondents disagree about Vory control", "L850", "", (0.0, 0.0),
         reason="a caution about police perceptions, not a model output"),
    Fact("SF39", "Heroin use declines", "L1406 [DE9], L1351, L1325",
         "heroin users, last year / first year of the reform run", (0.0, 1.0 - 1e-9), REFORM, sf39),
    # scored on the reform run: the decline was observed in 2012-2019, and respondents gave "increased police
    # activity" as one of its reasons (L1406); the model has no purity-driven decline (its other reason). The
    # baseline's heroin users fall a little too (its retail price rises): the reform's own part is the gap (ODD 1.2)
    Fact("SF40", "Heroin is used more in the north, cannabis in the south", "L1353-1359, L1404 [DE11]",
         "heroin share of users, north / south", (1.0 + 1e-9, INF), measure=sf40,
         construction="users are placed by zone weights (population.heroin_zone_weight_north, "
         "population.cannabis_zone_weight_south)"),
    Fact("SF41", "Drugs flow south to north: almost all heroin exports leave through the northern exits",
         "L1277 [P13], L621 (UNODC 2018a), L1300 (CADAP)",
         "share of heroin sold in Russia that left through the Kostanay, Petropavlovsk and Pavlodar crossings",
         (0.9, 1.0), measure=sf41,
         construction="routes are input data (data/routes.csv), lots only move forward along them, and each "
         "route's share of its source's heroin is an assumption (data/route_shares.csv); the CADAP eastern "
         "(Ust-Kamenogorsk) and western (Uralsk) routes of L1300 leave elsewhere",
         known_miss=("an input: the assumed route shares send a third of Osh heroin by the CADAP eastern and western "
                     "routes (L1300), which leave outside the three northern exits (ODD 1.2)"), domain=SHARE),
    # band: "almost all" [interp], fixed here at 0.9 or more before any value of this measure was seen. The spec's
    # other test (net flows point south to north) is not scored: lots move only forward along routes that run
    # from the southern border to Russia, so it holds by construction.
    Fact("SF42", "Most of what reaches the Ural region moves on", "L1319", "", (0.0, 0.0),
         reason="Russian markets beyond the hubs are not modelled"),
    Fact("SF43", "Foreigners are prominent among arrested traffickers", "L1239 (Behera 2013), L1090 [P5]",
         "foreign suppliers' couriers / everyone charged with smuggling", (0.3, 0.7), measure=sf43,
         known_miss=("far below: entry posts see few, large heroin lots, hubs split lots before the northern exits, "
                     "cannabis couriers are all Kazakh, and exit couriers are assumed Kazakh though Kyrgyz ones are on "
                     "record (ODD 1.2)")),
    # band: 1998's 50 per cent (L1239) +-20 points, wide because the figure is old and counts all post-Soviet
    # citizens [interp]; fixed before any value of this measure was seen
)
