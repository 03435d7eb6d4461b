"""Scenarios: a pydantic schema whose every parameter carries unit, range and provenance.

Scenarios are TOML files validated at the door (DESIGN §2.6). A scenario may `extends` another
(built-in name or path) and override a few values; `--set section.field=value` overrides work the
same way. Every error becomes a `ScenarioError` whose message is one line naming the field.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator


class ScenarioError(ValueError):
    """A scenario problem, worded as one line for the user."""


def P(default: Any, lo: float | None, hi: float | None, unit: str, provenance: str, doc: str) -> Any:
    """A model parameter: default, allowed range, unit and where the value comes from."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=doc,
        json_schema_extra={"unit": unit, "provenance": provenance},
    )


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _as_typed(cls, value: Any, info: ValidationInfo) -> Any:
        """Numbers and flags as TOML writes them: pydantic would read `witness_protection = "yes"` or `1` as true
        and `adulteration = "0.3"` as 0.3, so a quoted or mistyped value would run as if it were meant."""
        kind = cls.model_fields[info.field_name].annotation
        if kind is bool and not isinstance(value, bool | np.bool_):
            raise ValueError("expects true or false")
        if kind in (int, float) and isinstance(value, str | bool | np.bool_):
            raise ValueError("expects a number, not text" if isinstance(value, str) else "expects a number")
        return value


class TimeParams(Section):
    start: date = P(date(2012, 1, 2), None, None, "date", "run setting: 2012 is the price reference year of "
                    "Table 5.6 (L1382); DESIGN §4 default 2012-01 to 2019-12", "First simulated week (a Monday).")
    years: float = P(8.0, 0.02, 30.0, "years", "run setting: DESIGN §4, 2012-2019, which covers Table 5.5's "
                     "2012-2017", "Length of the recorded run.")
    burn_in_weeks: int = P(26, 0, 104, "weeks", "assumption: lets shipments fill the routes and stocks "
                           "settle before recording starts", "Weeks simulated before the start date, not recorded.")

    @field_validator("start")
    @classmethod
    def _monday(cls, start: date) -> date:
        """Weeks run Monday to Sunday: outputs are dated by their Monday and timeline steps apply on one."""
        if start.weekday() != 0:
            raise ValueError(f"the start must be a Monday ({start} is a {start.strftime('%A')})")
        return start


class PopulationParams(Section):
    scale: float = P(1.0, 0.001, 2.0, "fraction", "run setting: 1 = national scale, one agent row per "
                     "person; 0.1 simulates a tenth of the people and supply", "Fraction of the national "
                     "population represented as agent rows; quantities of drugs scale with it.")
    heroin_users: float = P(122_850, 0, 1_000_000, "persons", "external-facts §1: official government "
                            "estimate of people who inject drugs, 2011 (AIDS & Behavior 2013)",
                            "People who use heroin nationally at the start.")
    cannabis_users: float = P(200_000, 0, 2_000_000, "persons", "assumption: no general-population "
                              "survey found (external-facts, 'not found' #3); set to ~1.6x the heroin users: "
                              "cannabis is the most popular drug in Russia (L1329, Paoli) and its use in "
                              "Kazakhstan is growing (L1337, INL 2017)",
                              "People who use marijuana or hashish nationally at the start.")
    hashish_share: float = P(0.15, 0.0, 1.0, "fraction", "assumption: hashish is the rarer, costlier "
                             "cannabis product (thesis L1398-1402 [DE3])", "Share of cannabis users who use hashish.")
    heroin_zone_weight_north: float = P(1.6, 0.1, 5.0, "ratio", "thesis L1404 [DE11]: hard-drug use is "
                                        "higher in the north; factor is an assumption", "Relative heroin "
                                        "prevalence in northern and central regions (south = 1).")
    cannabis_zone_weight_south: float = P(1.8, 0.1, 5.0, "ratio", "thesis L1353-1357 [P11][P10]: cannabis "
                                          "seen as medicinal in the south; factor is an assumption",
                                          "Relative cannabis prevalence in southern regions (north = 1).")
    users_per_retail_dealer: float = P(12.0, 2.0, 100.0, "persons", "assumption: thesis gives only 'a "
                                       "great number of addicts' per retail dealer (L1102 [P20])",
                                       "Users served by one retail dealer at the start.")
    retail_per_wholesaler: int = P(7, 1, 30, "persons", "thesis L1022 [P23]: 'each wholesale dealer has "
                                   "6-7-8 other dealers'", "Target retail team of a wholesaler.")
    wholesalers_per_trafficker: float = P(8.0, 1.0, 100.0, "persons", "assumption: traffickers make 'only "
                                          "a few huge transactions' (L1086 [P13])",
                                          "Wholesalers per trafficker at the start.")


class SupplyParams(Section):
    heroin_kg_per_year: float = P(35_000, 0, 200_000, "kg/year", "assumption within the sourced range, set "
                                  "so that the ~30% retained (L1323) meets the demand of 122,850 users at 0.3 "
                                  "g/day: ~90 t on the whole Northern Route in 2010, 3/4 to Russia (UNODC 2012, "
                                  "external-facts §6); 'only 3%' seized (EU, external-facts §3) with 307 kg "
                                  "seized in 2012 (Table 5.5) would imply ~10 t", "Afghan heroin arriving in "
                                  "Osh/Uzbekistan for the Kazakh routes (national scale).")
    heroin_uzbek_share: float = P(0.15, 0.0, 1.0, "fraction", "assumption: heroin 'mostly came from "
                                  "Kyrgyzstan' (thesis L2029); Uzbek flows were 'liquidated' in 2014-2017 and "
                                  "Kyrgyz volume grew (L1279-1281), which a timeline can express",
                                  "Share of heroin entering from Uzbekistan rather than Osh/Bishkek.")
    heroin_purity: float = P(0.65, 0.05, 1.0, "fraction", "value assumption: UNODC Opiate Flows 2012 p.85 via "
                             "external-facts §4 gives 70% ('1 kg at 70% purity can become 2 kg at 35%'), not 0.65",
                             "Purity of heroin on arrival.")
    heroin_lot_kg: float = P(8.0, 0.1, 500.0, "kg", "thesis L1201-1203 [P13]: shipments of 10 kg and more "
                             "need capital in advance; median is an assumption",
                             "Median heroin lot size at national scale (see lots_follow_scale).")
    afghan_elasticity: float = P(0.0, 0.0, 2.0, "ratio", "assumption (off by default): the link between "
                                 "Afghan production (external-facts §6) and Northern Route flow is weak: "
                                 "cultivation reached a record in 2017 (thesis L221) while flows on the Northern "
                                 "Route fell significantly (L1225, CADAP 2018)",
                                 "Elasticity of heroin arrivals to Afghan opium production of the previous year.")
    northern_decline: float = P(0.178, 0.0, 0.9, "fraction/year", "CADAP 2018 via thesis L1378, L2031: heroin "
                                "seizures in Central Asia fell 69% in 2010-2016 (2.6 t to 803 kg), 1 - 0.31^(1/6) = "
                                "0.178 a year if seizures follow the flow (assumption; Kazakhstan's own seizures, "
                                "Table 5.5, are part of that total); the Northern Route declined as the Balkan and "
                                "southern routes grew (L1225, CADAP 2018; L1325, UNODC 2018), and heroin use and "
                                "seizures fell in Uzbekistan and Kyrgyzstan too (L1351, WDR 2018)",
                                "Yearly fall of heroin arrivals on the Northern Route from 2012: a regional trend, "
                                "not Kazakh policy, whose own effect is displacement (route_elasticity).")
    northern_decline_until: int = P(2016, 2012, 2100, "year", "CADAP's window ends in 2016 (thesis L1378); held "
                                    "after it (assumption), though the fall went on: about 4 kg of heroin seized "
                                    "by the police in 2021 (external-facts §3)",
                                    "Last year of the decline; later years keep that year's level.")
    route_elasticity: float = P(1.0, 0.0, 3.0, "ratio", "assumption: 1 keeps the expected weight seized in "
                                "Kazakhstan level as enforcement rises, flows displaced rather than removed "
                                "('a beast with three heads', L1281 [P26]); CADAP reports Northern Route "
                                "trafficking falling as Balkan and southern routes grew (L1225); L1279 makes two "
                                "separate statements, more drugs passing through the Caspian Sea into Iran and the "
                                "Caucasus, and Uzbek heroin flows 'liquidated' in 2014-2017 (it does not say the Uzbek "
                                "flows moved to the Caspian); traffickers adapting to the route's risk (L2081)",
                                "Elasticity of heroin arrivals to the expected share of a lot seized on its "
                                "way through Kazakhstan, against 2012 conditions (M46).")
    marijuana_kg_per_year: float = P(150_000, 0, 2_000_000, "kg/year", "assumption: Chu Valley potential "
                                     "100,000 t (L1329, USDS) or ~4,600 t (external-facts §7); Kazakhstan "
                                     "supplies ~80% of Russia's cannabinoids (L1331 [P18])",
                                     "Chu Valley marijuana entering trade (national scale).")
    harvest_share: float = P(0.6, 0.0, 1.0, "fraction", "thesis L1339: pickers arrive each harvest "
                             "season; share is an assumption", "Share of the year's wild marijuana "
                             "shipped in the harvest months.")
    harvest_start_month: int = P(8, 1, 12, "month", "assumption: wild cannabis is harvested in late "
                                 "summer (thesis L1339, L1341 harvest-time Koknar operation)", "First harvest month.")
    harvest_months: int = P(3, 1, 12, "months", "assumption", "Length of the harvest season.")
    marijuana_lot_kg: float = P(30.0, 0.1, 1000.0, "kg", "thesis L1010 [DE7] (160 kg lot), L1337 "
                                "('hundreds of kilograms'); median is an assumption",
                                "Median marijuana lot size at national scale.")
    hashish_kg_per_year: float = P(8_000, 0, 200_000, "kg/year", "assumption: Chu Valley potential "
                                   "3,500 t hashish (L1329); hashish is 'difficult to produce' (L1402, on [DE3]'s "
                                   "account at L1400; also L1398)",
                                   "Hashish entering trade (national scale).")
    hashish_lot_kg: float = P(5.0, 0.1, 500.0, "kg", "thesis L1400 [DE3]: packed in 1 kg and 0.5 kg "
                              "blocks; lot median is an assumption", "Median hashish lot size at national scale.")
    lots_follow_scale: bool = P(True, None, None, "flag", "assumption (session 16): below scale 1, lots of "
                                "national size are few (about 2 heroin lots a week for the whole country at 0.05), "
                                "regional stocks swing and scarcity pricing inflates prices; measured with "
                                "anticorruption-2015, 6 years, seeds 0-2: heroin retail price 2012-2017 at scale "
                                "0.05 21,700 KZT/g with national-size lots, 11,000 with lots that follow the scale, "
                                "8,400 at scale 1. No effect at scale 1; at reduced scales the few traffickers "
                                "sell more lots each, so trade ties are reused more (ODD 2)",
                                "Lot sizes and the hub split threshold are multiplied by population.scale, so as "
                                "many lots move as at national scale; a seized lot's courier is then arrested with "
                                "a chance equal to the scale, so courier arrests per person stay national.")
    greenhouse_kg_per_year: float = P(5_000, 0, 500_000, "kg/year", "thesis L1341: greenhouse 'Indian "
                                      "marijuana' in Zhambyl, South KZ, Karaganda, Aktobe, Kyzylorda "
                                      "(154 plantations, 2015); amount is an assumption", "Greenhouse "
                                      "marijuana grown year-round in those regions (0 switches it off).")
    cannabis_purity: float = P(1.0, 0.05, 1.0, "fraction", "assumption: cannabis weight is counted as "
                               "product (Table 7.1 thresholds are by weight)", "Purity of cannabis on arrival.")
    heroin_source_price: float = P(1_250_000, 1e4, 1e8, "KZT/kg", "Kyrgyz MVD 2015: US$8,000-10,000/kg "
                                   "(external-facts §4), at ~149 KZT/USD (2012) less a small discount; "
                                   "assumption that 2012 resembles 2015", "Price traffickers pay in "
                                   "Osh/Bishkek for a kilogram of heroin.")
    marijuana_source_price: float = P(52_000, 100, 1e7, "KZT/kg", "thesis L1331 (Golunov 2007, Paoli "
                                      "2001): US$0.3-0.4/g, at ~149 KZT/USD", "Price of a kilogram of "
                                      "Chu Valley marijuana at source.")
    hashish_source_price: float = P(180_000, 100, 1e8, "KZT/kg", "assumption: set below the 2012 domestic "
                                    "hashish wholesale price of Table 5.6 (L1387-1389: median 300,000, minimum 45,000 "
                                    "KZT/kg)",
                                    "Price of a kilogram of hashish at source.")


class TraffickingParams(Section):
    inspection_multiplier: float = P(0.01, 0.0, 50.0, "ratio", "assumption: the 5-6 searches an hour in "
                                     "places.csv are one 2019 measurement at Kordai (external-facts §7) "
                                     "applied to every post, and customs control on the KZ-RU border ended on "
                                     "1 July 2011 (external-facts §3); thorough searches are taken as a hundredth "
                                     "of that (about one a day at a post), so that searches at crossings seize "
                                     "about a tenth of the recorded heroin: customs seized >21 kg in H1 2013 "
                                     "against 754 kg in the year (external-facts §3, Table 5.5) and '90 of every "
                                     "100 kg' are seized in Karaganda (L1317 [P23]). Lever for border control "
                                     "(thesis S10, L952, L1247)",
                                     "Multiplies the search capacity of every crossing.")
    detect_if_searched: float = P(0.35, 0.0, 1.0, "probability", "assumption: drugs are hidden in "
                                  "legitimate cargo (thesis L1068-1072, L1239 CADAP)", "Chance a "
                                  "thorough search finds a hidden lot.")
    staging_search_rate: float = P(0.01, 0.0, 1.0, "probability", "thesis L1317 [P23]: 'if in the whole "
                                   "Kazakhstan 100 kg is seized, 90 of them will be seized in Karaganda', the main "
                                   "staging post; L1309 [DE7]: lots are unloaded, repacked and split at the staging "
                                   "posts; external-facts §3: customs seized >21 kg of heroin in H1 2013 against "
                                   "754 kg in the year (Table 5.5), an 11 kg seizure in Astana (2015); rate "
                                   "assumption, set with inspection_multiplier so that the recorded heroin of "
                                   "2012 stays near Table 5.5's 307 kg with a tenth of it seized at crossings",
                                   "Chance that police or KNB operations at a "
                                   "Kazakh staging post (hub) search a lot arriving there, whatever its cover.")
    truck_share: float = P(0.5, 0.0, 1.0, "fraction", "thesis L1072 [DE3]: long-distance container "
                           "trucks preferred; L1239 high-volume cargo 'most sustainable'; share assumption",
                           "Share of lots hidden in long-distance trucks.")
    car_share: float = P(0.3, 0.0, 1.0, "fraction", "thesis L1311-1313 [DE7]: cars with new plates and "
                         "stashes; share assumption", "Share of lots in cars and light vehicles.")
    rail_share: float = P(0.1, 0.0, 1.0, "fraction", "thesis L1145 [P19] (train conductors), L1239; "
                          "share assumption", "Share of lots on trains; the rest are carried on the body.")
    truck_attention: float = P(0.5, 0.0, 5.0, "ratio", "thesis L1072 [DE3]: truckers cultivate customs "
                               "and are waved through; factor assumption", "Relative chance a truck is "
                               "picked for a search.")
    car_attention: float = P(1.5, 0.0, 5.0, "ratio", "thesis L1313 [DE7]: southern plates draw "
                             "attention; factor assumption", "Relative chance a car is picked for a search.")
    max_wait_weeks: int = P(8, 0, 52, "weeks", "thesis L1004-1006 [P13]: dealers buy first and then "
                            "search for buyers; how long they stay is an assumption", "Weeks a lot for Kazakh "
                            "buyers stays in a region while it keeps finding buyers.")
    keep_selling_share: float = P(0.1, 0.0, 1.0, "fraction", "assumption: a trafficker moves on when "
                                  "buyers in a region take less than this share of the lot in a week",
                                  "Weekly share of a lot that must sell for it to stay in a region.")
    split_min_kg: float = P(2.0, 0.01, 1000.0, "kg", "thesis L1309 [DE7][P13]: lots are split and "
                            "repacked at hubs; threshold assumption", "Lots above this size are split at hubs.")
    split_parts: int = P(3, 1, 20, "parts", "assumption: 'drugs are divided at each point' (L1309, "
                         "Curtis 2002)", "Number of sub-lots a lot is split into at a hub.")
    export_share: float = P(0.7, 0.01, 0.99, "fraction", "Golunov 2007: 30% of drugs entering Kazakhstan "
                            "stay, 70% go on (thesis L1323; the author doubts the figure)", "Share of new lots "
                            "traffickers send on to Russia at the prices of the first week.")
    export_sensitivity: float = P(2.0, 0.0, 20.0, "1/log-ratio", "assumption: traffickers prefer the "
                                  "market with the better expected margin (thesis L2031, hedged)",
                                  "How strongly the export choice follows the export/domestic value ratio.")
    heroin_russia_price: float = P(4_500_000, 1e4, 1e9, "KZT/kg", "assumption: UNODC 2012 reports mark-ups "
                                   "up to 600% from Central Asia to Russia (external-facts §4); thesis L952",
                                   "Price a heroin lot fetches at a Russian hub.")
    marijuana_russia_price: float = P(160_000, 100, 1e8, "KZT/kg", "thesis L1374 [DE9]: marijuana 'more "
                                      "expensive there'; level assumption", "Price of marijuana at a Russian hub.")
    hashish_russia_price: float = P(700_000, 100, 1e9, "KZT/kg", "thesis L1398 (the author's narration): "
                                    "hashish trade 'much more profitable, especially for people who could manage to "
                                    "smuggle it to Russia'; [DE3] (L1400) says it can be carried across Kazakhstan to "
                                    "Russia; level assumption",
                                    "Price of hashish at a Russian hub.")
    transport_cost_per_1000km: float = P(0.04, 0.0, 2.0, "fraction of value", "assumption: couriers and "
                                         "drivers are paid 'good money' (L1149 [P25])", "Transport cost "
                                         "per 1,000 km as a share of the source price.")


class MarketParams(Section):
    adulteration: float = P(0.25, 0.0, 0.8, "fraction", "value assumption: UNODC 2012 via external-facts §4 "
                            "gives one dilution, 70% -> 35% purity from Central Asia to Russia, not a share per "
                            "hand-over; thesis L1406 [DE9] 'almost no heroin'", "Share of "
                            "each heroin hand-over below trafficking that is cutting agent added.")
    cannabis_adulteration: float = P(0.05, 0.0, 0.8, "fraction", "assumption: cannabis is rarely cut",
                                     "Share of each cannabis hand-over that is filler added.")
    trafficker_markup: float = P(1.8, 1.0, 10.0, "ratio", "assumption: traffickers' margin over landed "
                                 "cost; 'fortunes almost overnight' (L950 [DE3])", "Wholesale price over "
                                 "landed cost at normal stocks.")
    retail_markup: float = P(3.0, 1.0, 20.0, "ratio", "assumption: retail dealers sell small units with "
                             "high exposure (L1042-1058 [P13]); not fitted to Table 5.6", "Retail price per "
                             "street gram over its cost to the wholesaler's team, at normal stocks.")
    dealer_commission: float = P(0.1, 0.0, 0.5, "g per g sold", "thesis L964 [DE11]: 'for each 10 gr "
                                 "sold, you will get 1 gr for yourself'", "In-kind pay of a retail dealer.")
    dealer_daily_dose: bool = P(True, None, None, "flag", "thesis L964 [DE11]: 'we will inject you every "
                                "morning'", "Retail dealers get their daily dose from the wholesaler's stock.")
    stock_cover_weeks: float = P(4.0, 0.5, 52.0, "weeks", "thesis L1962 [P22]: monthly restocking by dead "
                                 "drop; target cover is an assumption", "Weeks of sales a wholesaler "
                                 "tries to hold in stock.")
    retail_cover_weeks: float = P(1.0, 0.1, 12.0, "weeks", "assumption: retail dealers hold little, daily "
                                  "contact with users (L1102 [P20])", "Weeks of sales a retail dealer holds.")
    scarcity_elasticity: float = P(0.5, 0.0, 5.0, "ratio", "assumption: detective [P20] L1924 says prices "
                                   "rise when drugs are harder to find", "Price response to low stock cover.")
    price_adjustment: float = P(0.1, 0.01, 1.0, "1/week", "assumption", "Share of the gap to the target "
                                "price closed each week.")
    risk_memory_weeks: float = P(26.0, 1.0, 260.0, "weeks", "assumption", "Memory of recent losses "
                                 "(seizures at crossings, arrests of domestic sellers) that sets the risk "
                                 "premia.")
    prison_time_weight: float = P(1.0, 0.0, 10.0, "years of income per year in prison", "Reuter & Kleiman "
                                  "1986 'Risks and prices', Caulkins & Reuter 1998: sellers are paid for the "
                                  "expected prison time and stock their trade costs them; valuing a year inside "
                                  "at one year of the seller's margin income (lost earnings, no further "
                                  "disutility) is an assumption", "Weight of the prison time sellers expect "
                                  "in the margins they ask; 0 turns the arrest-risk premium off.")
    users_per_dealer_target: float = P(12.0, 2.0, 100.0, "persons", "assumption (same as population."
                                       "users_per_retail_dealer)", "Users per retail dealer above which "
                                       "wholesalers recruit more retail dealers.")
    leader_share: float = P(0.5, 0.0, 0.9, "fraction", "assumption: the thesis gives no share. Two detectives "
                            "describe the level below a wholesaler: his 6-8 retail dealers deal directly with "
                            "the addicts (L1022 [P23]), or a mid-level 'leader' buys 50-100 g a month from a "
                            "larger dealer by dead drop and passes on 10 g portions to smaller dealers (L1962 "
                            "[P22]); the two accounts are given equal weight", "Share of a wholesaler's retail "
                            "dealers who get their stock from a mid-level leader instead of from him, taken "
                            "only beyond his direct team of population.retail_per_wholesaler.")
    pool_share: float = P(0.3, 0.0, 1.0, "fraction", "thesis L1084 [P11], L976 [DE1][DE2]: users pool "
                          "money for bigger, cheaper portions; share assumption", "Share of heroin users "
                          "who buy in a pool.")
    pool_size: int = P(3, 2, 10, "persons", "assumption", "Users in a buying pool.")
    pool_discount: float = P(0.15, 0.0, 0.8, "fraction", "thesis L1084: dealers give bulk discounts to "
                             "user groups; size assumption", "Price discount for pooled purchases.")


class UsersParams(Section):
    heroin_g_per_day: float = P(0.3, 0.01, 5.0, "g/day", "assumption: the thesis gives no dose in grams "
                                "(gaps #1); a 'check' is 0.33 g (L1404, footnote 7 at L1416: 'repeatedly "
                                "stated in many interviews'; not [DE11], who speaks of hard-drug use in the north)",
                                "Street heroin a user wants per day.")
    marijuana_g_per_day: float = P(0.4, 0.01, 10.0, "g/day", "assumption (matchbox of 2-3 g, L1394)",
                                   "Marijuana a user wants per day.")
    hashish_g_per_day: float = P(0.25, 0.01, 10.0, "g/day", "assumption (shaiba of 3-5 g, L1402 [O11])",
                                 "Hashish a user wants per day.")
    weekly_income: float = P(18_000, 0, 1e6, "KZT/week", "assumption: about 78,000 KZT a month, near a "
                             "police sergeant's 70,000-87,000 (external-facts §5); many users cannot finance "
                             "their habit (L690 [P32])", "Median legal income a user can spend on drugs per week.")
    income_spread: float = P(0.6, 0.0, 3.0, "log-sd", "assumption", "Spread of users' incomes.")
    heroin_quit_rate: float = P(0.07, 0.0, 1.0, "1/year", "assumption: registered users fall by 500-700 a "
                                "year from ~17,000 (external-facts §1) plus deaths", "Yearly chance a heroin "
                                "user stops (or dies) at 2012 prices.")
    cannabis_quit_rate: float = P(0.12, 0.0, 1.0, "1/year", "assumption", "Yearly chance a cannabis user stops.")
    heroin_start_rate: float = P(0.07, 0.0, 1.0, "1/year", "assumption: set equal to the quit rate, so that "
                                 "starting replaces the users who would quit at reference (2012) prices, which "
                                 "holds their number at those prices (until session 13 starts were counted on "
                                 "users, not on their quit factor, and heroin users grew 12-16% by 2019)",
                                 "New heroin users per year, as a share of current users each weighted by his "
                                 "quit factor (1.5 - addiction): at the quit rate, the users who would quit at "
                                 "reference prices.")
    cannabis_start_rate: float = P(0.12, 0.0, 1.0, "1/year", "assumption (as above)", "New cannabis "
                                   "users per year, as for heroin.")
    price_elasticity: float = P(0.5, 0.0, 5.0, "ratio", "assumption: higher prices push users to quit "
                                "or switch (L1406 [DE9], L746)", "Elasticity of quitting to the retail "
                                "price relative to its starting level.")
    dealer_quit_rate: float = P(0.3, 0.0, 5.0, "1/year", "assumption: exits other than arrest (arrests "
                                "come from the policing process on top of this rate)",
                                "Yearly chance a retail dealer stops dealing.")
    early_quit_rate: float = P(0.0, 0.0, 52.0, "1/year", "assumption (off by default): most retail careers "
                               "are short, 'two-three months' for an unprotected dealer (L1652 [DE2]), while "
                               "those who move up deal for years (L1012 [DE7][P22][P21])",
                               "Extra yearly chance a retail dealer stops, at the start of his career; it "
                               "fades with his weeks in the trade (users.early_quit_weeks).")
    early_quit_weeks: float = P(13.0, 1.0, 520.0, "weeks", "assumption: 'two-three months' (L1652 [DE2])",
                                "Weeks in the trade over which the early quit rate falls by a factor e.")
    idle_dealer_quit_rate: float = P(3.0, 0.0, 52.0, "1/year", "assumption: retail dealers are 'not "
                                     "really that dependant on a specific wholesale dealer' (L986)",
                                     "Yearly chance that a retail dealer with almost no sales stops.")
    wholesaler_exit_rate: float = P(0.08, 0.0, 5.0, "1/year", "assumption: upper-level traders were "
                                    "active 10-15 years without being caught (thesis L1024 [P23], L1018)",
                                    "Yearly chance a wholesaler leaves the trade.")
    deal_start_rate: float = P(1.0, 0.0, 52.0, "1/year", "thesis L690 [P32]: 'it is not unusual for a drug "
                               "user to start dealing in drugs in order to sponsor his addiction, and almost "
                               "everyone who uses drugs eventually starts dealing'; the rate is an assumption "
                               "(about a year from running short to dealing)", "Yearly chance that a user who "
                               "cannot finance his habit from his income looks for a retail slot (M31).")
    promotion_tenure_weeks: int = P(52, 0, 1040, "weeks", "assumption: 52 weeks is below the cited "
                                    "text, thesis L1012 [DE7][P22][P21]: it 'takes years' to build the bond needed "
                                    "to become a partner", "Retail tenure needed "
                                    "before a dealer can become a wholesaler.")


class RelationsParams(Section):
    community_share: float = P(0.02, 0.0, 0.5, "fraction", "assumption: the only ethnic descriptor respondents "
                               "used was Roma (thesis L892); 'larger ones are mostly Roma' (L886 [P16]); "
                               "their share of the population is an assumption", "Share of people who belong "
                               "to the kin-trust community (Roma-like).")
    community_upper_start: float = P(0.5, 0.0, 1.0, "fraction", "thesis L888 [P12]: 'from 2005 until around "
                                     "2012, when the Roma people were the majority ... among those who traded on a "
                                     "larger scale'; L886 [P16]: 'larger ones are mostly Roma'; 0.5, the lower edge "
                                     "of a majority, is an assumption", "Share of the wholesalers and traffickers "
                                     "of 2012 who belong to the community (its dominance of the larger lots, built "
                                     "up before the run); set it to community_share for no head start.")
    kin_group_size: int = P(12, 2, 200, "persons", "assumption: kin spread across cities and countries "
                            "(L884 [DE11], L886, L1118 [DE12])", "People in one kin group of the community.")
    kin_reach: int = P(2, 0, 50, "kin groups", "thesis L884 [DE11]: 'they commute between different gypsy kins, "
                       "and therefore know who sells where'; L1118 [DE12]: 'it's like a chain. You call someone "
                       "..., then someone else is called'; the number is an assumption", "Other kin groups each "
                       "kin group is in touch with (drawn at the start): their members at wholesale and above "
                       "are exits to the weight for its members too (M20).")
    kin_buying: bool = P(True, None, None, "flag", "thesis L884 [DE11]: kin 'know who sells where and can gain "
                         "access to bigger weight'; L1070 [P6]: Tajik traffickers connected to Roma wholesale "
                         "dealers (M20)", "A kin wholesaler left short at his region's supply node buys the rest "
                         "at the node of the region where a kin of a group he reaches lives.")
    exit_options: bool = P(True, None, None, "flag", "thesis L904 [P25] ('Naturally, he will have more "
                           "acquaintances'), L886 [36], L884 [DE11] (M20): more acquaintances give more options; "
                           "that each exit counts alike is an assumption", "Promotion to wholesale favours a "
                           "retail dealer in proportion to his exits to the weight (his trained-for wholesaler, "
                           "prison mates and kin trading at wholesale or above).")
    kin_silence: bool = P(True, None, None, "flag", "thesis L884 [P20]: 'gypsies never betray each other or the "
                          "corrupt police who protected them'; L890 (two detectives)", "A cooperating witness "
                          "does not name a supplier of his own kin group (M24, M70).")
    kin_clients_first: bool = P(True, None, None, "flag", "thesis L884 [P20], L890: no Roma entrepreneur ever "
                                "testified against the police who protected them; L888-890: their dominance "
                                "had been facilitated by corrupt police", "Corrupt officers take kin wholesalers "
                                "as protection clients first: they never betray their protector (M24, M49).")
    kin_substitution: float = P(0.5, 0.0, 1.0, "probability", "thesis L956 [P11][P17]: younger Roma family "
                                "members 'confessed' to side-track investigations against older ones (M70); "
                                "the chance is an assumption", "Chance that a younger relative (a user or "
                                "retail dealer of the same kin group) confesses in place of an arrested kin "
                                "wholesaler or trafficker.")
    circle_size: int = P(6, 2, 100, "persons", "assumption: users who use together become a dealer's customers "
                         "(M30, L974)", "Users in one co-use circle.")
    contact_cap: int = P(8, 1, 10_000, "persons", "thesis L1022 [P23]: 'each wholesale dealer has 6-7-8' retail "
                         "dealers; M5 buffers", "Most retail dealers a wholesaler deals with directly.")
    need_introducer: bool = P(True, None, None, "flag", "thesis L1141, L1161 [DE9], L1151 [DE2]: access to 'the "
                              "weight' needs one acquaintance with an 'exit' (M14)", "Moving up to wholesale "
                              "needs an introducer who already trades at that level.")
    vouching: bool = P(True, None, None, "flag", "thesis L1100-1102 [P6][P28][P13], L1175 [P30] ('maza'), L1195 "
                       "[P18] (M15)", "Large purchases need a voucher or a verified reputation.")
    voucher_threshold_g: float = P(1000.0, 1.0, 1e7, "g/week", "thesis L1195 [P18]: 'only then will he be given "
                                   "large shipments'; L1201: 10 kg needs reputation; 1 kg is an assumption",
                                   "Weekly purchase above which a wholesaler needs a voucher or reputation.")
    reputation_years: float = P(3.0, 0.0, 30.0, "years", "thesis L1012 [DE7][P22][P21]: 'it takes years to "
                                "develop the kind of strong bond'; years assumption", "Years of trading without "
                                "a failure after which a reputation counts as verified.")
    vouch_willingness: float = P(0.5, 0.0, 1.0, "probability", "assumption: the voucher must be willing to "
                                 "share the costs of a failure (L1100-1102 [P13])", "Chance an introducer with a "
                                 "verified reputation also vouches for the entrant.")
    internship_weeks: int = P(8, 0, 1040, "weeks", "thesis L1034-1038 [P8]: recruits are tested and not told "
                              "whom they work for; length assumption", "Weeks a new retail dealer is on trial.")
    cheat_rate: float = P(0.03, 0.0, 1.0, "1/year", "assumption: disputes come from cheating and lost lots "
                          "(thesis L826, L848)", "Yearly chance a dealer cheats his supplier.")
    vory_uptake: float = P(0.1, 0.0, 1.0, "fraction", "assumption: the Vory are peripheral and the north is "
                           "'predominantly red' (thesis L850 [P5][P32][P28]); some dealers relied on police "
                           "instead (L862 [DE2])", "Chance a new wholesaler or trafficker buys Vory protection "
                           "where the police are as strong as in the country as a whole (M64, M68).")
    vory_police_elasticity: float = P(1.0, 0.0, 5.0, "ratio", "thesis L850 [P5]: the influence of the Vory "
                                      "'depends on the strength of the police forces of a given city' ('red' "
                                      "cities are dominated by police; M68); value assumption", "Elasticity of "
                                      "that chance to the region's drug officers per dealer over the country's: "
                                      "at 1 it halves where there are twice as many officers per dealer.")
    vory_replaces_police: bool = P(True, None, None, "flag", "M68 model note [interp]: the Vory and corrupt "
                                   "police are substitute protectors (L862 [DE2]: 'those [police] employees tried "
                                   "to establish control'), so demand for the Vory rises when police protection "
                                   "is lost", "A wholesaler whose police protection ends, and who is still free, "
                                   "buys Vory protection with that chance.")
    vory_fee: float = P(0.1, 0.0, 1.0, "share of value", "thesis L854 [DE7]: protection costs about 1/10 of "
                        "the value of the drugs traded", "Fee Vory clients pay on what they sell.")
    exposure_weeks: float = P(13.0, 1.0, 260.0, "weeks", "assumption: 'who knows about me' (M3, L1042-1058 "
                              "[P13]) over about a quarter", "Window over which distinct counterparties are counted.")
    tie_memory_weeks: float = P(52.0, 1.0, 1040.0, "weeks", "assumption: trade ties are 'only with a single "
                                "purpose' (L1010 [DE1][DE2][DE12]) and fade when unused", "Weeks after which an "
                                "unused trade tie is forgotten.")


class PolicingParams(Section):
    drug_officers: float = P(600.0, 0.0, 20_000.0, "persons", "assumption: anti-drug (UBN) and patrol officers "
                             "who make drug cases, nationally; the MVD had 76,000 staff in 2010 (external-facts "
                             "§5); the UBN is the MVD's anti-narcotics directorate (thesis L1878), with regional "
                             "offices (L1714: its 'Regional Office in Almaty')", "Officers making drug cases, "
                             "national scale (spread over regions by 2012 population).")
    quota_per_month: float = P(1.5, 0.0, 30.0, "cases/officer/month", "thesis L1916: police 'were required to "
                               "produce one or two arrests per estimated period of time' (the author's narration "
                               "before a quote from [P20]; the text gives no period): per month is an assumption",
                               "Arrests each case-making officer must produce a month.")
    quota_pressure: float = P(1.0, 0.0, 1.0, "fraction", "thesis L966, L978, L1084 (M33): judged on counts, "
                              "police pick the easiest targets; 0 = judged by quality (S5, L1844-1846, L1924 "
                              "[P20])", "1: targets chosen by how easy and visible (counts); 0: by the "
                              "level of the target (quality).")
    level_value: float = P(8.0, 1.0, 1000.0, "ratio", "assumption: under quality evaluation a case one level "
                           "up the chain is worth this many times more (S5)", "Worth of a case per level up "
                           "the chain, when quota_pressure is 0.")
    provable_retail: float = P(0.8, 0.0, 1.0, "probability", "assumption: controlled purchases document retail "
                               "sales (thesis L1910)", "Chance a case against a retail dealer can be documented.")
    provable_wholesale: float = P(0.15, 0.0, 1.0, "probability", "thesis L1962 [P22], L1022-1024 [P23], L1936 "
                                  "[P17] (M38): proof against wholesalers is 'almost impossible to document'; "
                                  "value assumption", "Chance a case against a wholesaler can be documented.")
    provable_trafficker: float = P(0.05, 0.0, 1.0, "probability", "thesis L1086 [P13], L1962 (M38); value "
                                   "assumption", "Chance a case against a trafficker can be documented.")
    approval_steps: int = P(4, 0, 20, "steps", "thesis L1970 [P13]: 'your boss, the boss of your boss, the "
                            "prosecutor, the boss of the prosecutor' (M40)", "Approvals an operation against a "
                            "wholesaler or trafficker needs.")
    leak_per_step: float = P(0.08, 0.0, 1.0, "probability", "thesis L1870 [P5], L1970 [P13], L1974 [O2] (M40); "
                             "value assumption", "Chance the target is warned at each approval step.")
    pool_visibility: float = P(3.0, 1.0, 100.0, "ratio", "thesis L1084 [P11] (M34, M35): users buying for a "
                               "group are the visible 'distributors'; factor assumption", "How much more "
                               "visible a pool's buyer is than a lone user.")
    test_purchases: float = P(2.0, 0.0, 50.0, "cases/arrest", "thesis L1910: each controlled purchase registered "
                              "as a case (30 from one dealer in Pavlodar); mean assumption", "Extra registered "
                              "crimes per dealer arrest from repeated controlled purchases, at full quota pressure.")
    sale_documented: float = P(0.12, 0.0, 1.0, "probability", "thesis L1912 (M41b): police leave unregistered "
                               "the crimes they cannot prove, and people charged with possession say they 'found "
                               "drugs on the street'; value calibrated by hand to the 733 dealers sent to court in "
                               "2017 (L1908): 730-790 a year in 2015-2017 at the defaults (docs/studies.md)",
                               "Chance the arrest of a retail dealer or a pool's buyer records his sale; otherwise "
                               "he is charged with possession of what he holds.")
    framing_rate: float = P(0.02, 0.0, 1.0, "fraction", "thesis L1626 (Kozachkov 2018): drugs planted to add "
                            "members to an 'organized network' (M41); value assumption", "Share of user arrests "
                            "written up as members of an organised distribution group, at full quota pressure.")
    koknar: bool = P(True, None, None, "flag", "thesis L1341 (M47): the annual 'Koknar' operation in the Chu "
                     "Valley in the harvest season", "Run the seasonal Koknar operation.")
    koknar_share: float = P(0.15, 0.0, 1.0, "fraction", "assumption: share of the Chu Valley harvest taken by "
                            "the operation, not derived from the 161 t of marijuana confiscated in 2015 (thesis "
                            "L1341, in the passage on greenhouse plantations; it does not say by whom), which "
                            "exceeds the model's whole marijuana supply (150 t wild and 5 t "
                            "greenhouse a year at the defaults) and conflicts with Table 5.5 (L1365: 35,128 kg "
                            "of cannabis plants seized in 2015)", "Share of cannabis lots leaving the "
                            "Chu Valley that Koknar seizes during the harvest.")
    officer_turnover: float = P(0.045, 0.0, 1.0, "1/year", "external-facts §5: 6,000-6,500 of the MVD's "
                                "148,779-159,371 posts leave each year (c. 2017-18), i.e. 0.038-0.044; 0.045, "
                                "slightly above that range, is an assumption", "Yearly chance an officer leaves the "
                                "service for ordinary reasons (replaced by a new hire).")
    customs_officers: float = P(400.0, 0.0, 20_000.0, "persons", "assumption: customs and border officers at "
                                "the modelled crossings (thesis L1241 [P20], L1273)", "Customs and border officers "
                                "at the crossings, national scale.")
    crackdown_chance: float = P(0.5, 0.0, 1.0, "probability", "thesis L844 [P13]: violent disputes 'are taking "
                                "place in public and we must react ... we will pack all of them'; Reuter (1983: 130) "
                                "via L836; value assumption (the thesis gives no rate)", "Chance the police notice "
                                "a violent dispute and arrest its parties and their trade partners in the region "
                                "(M45); dealers expect the same chance.")


class CorruptionParams(Section):
    bribe_gain: float = P(3.0, 0.0, 100.0, "salaries/month", "assumption: protection is 'a percentage' of drug "
                          "revenue (thesis L1710 [P19]); sergeant pay 70-87k KZT/month (external-facts §5)",
                          "Illicit monthly income a corrupt officer expects, in monthly salaries.")
    norm_cost: float = P(2.0, 0.0, 100.0, "salaries/month", "thesis L1576 [P13 + ten detectives] (M55: drug "
                         "corruption is condemned as 'stryom'); scale assumption", "Mean moral and social cost of "
                         "being corrupt (spread over officers, exponential).")
    regional_spread: float = P(0.5, 0.0, 10.0, "ratio", "thesis L621 (Van Dijk et al. 2018): Almaty and South "
                               "Kazakhstan most corrupt, the northern exit regions least (SF26; L1654, L1756: "
                               "corruption 'of a more local nature'); the ordering is from the source, the size "
                               "an assumption", "Regional difference in the moral cost of corruption: x (1 + "
                               "spread) in the less corrupt places of data/places.csv, / (1 + spread) in the more "
                               "corrupt ones; 0 gives one national rate.")
    manager_pressure: float = P(0.5, 0.0, 10.0, "ratio", "Asanov (thesis L1660), L1658 (M54): corrupt directors "
                                "demand weekly sums; factor assumption", "Extra pull toward corruption when the "
                                "regional manager is corrupt.")
    clients_per_protector: int = P(3, 0, 100, "wholesalers", "assumption: one officer 'protects' a few dealers "
                                   "(thesis L1520 [P23], L1620 [DE2])", "Wholesalers one protector takes on.")
    accept_rate: float = P(0.95, 0.0, 1.0, "probability", "thesis L1626 [DE1]: dealers approached with "
                           "intelligence 'hardly ever refuse' (to cooperate, e.g. framing customers); "
                           "L1592-1594 [DE1][DE2] (M49); 'hardly ever' read as 0.95, an assumption",
                           "Chance a wholesaler accepts an officer's protection offer.")
    protection_share: float = P(0.2, 0.0, 1.0, "share of value", "thesis L1710 [P19]: their share was a "
                                "percentage of revenue; value assumption", "Share of a protected wholesaler's "
                                "takings paid to his protector.")
    shield: float = P(0.1, 0.0, 1.0, "ratio", "thesis L1652 [DE2]: without paying police a dealer lasted 2-3 "
                      "months; L1620 (M50) 'closed their eyes'; value assumption", "Arrest risk of a protected "
                      "wholesaler relative to an unprotected one; his retail team's is this times "
                      "team_shield_ratio.")
    team_shield_ratio: float = P(1.0, 0.0, 100.0, "ratio", "assumption (docs/open-decisions.md, decision 10 (a)): "
                                 "the team shares its wholesaler's shield; above 1 / shield he gives his own retail "
                                 "dealers up, 'to tip the scale against their own retailers' (L978), 'whoever you "
                                 "need, among those that we don't need' (L1606 [DE11])", "Arrest risk of a protected "
                                 "wholesaler's retail dealers and runners relative to his own, so relative to an "
                                 "unprotected team it is shield x this (1: shielded alike; 1 / shield: not shielded; "
                                 "above that: handed over).")
    sacrifice: float = P(0.5, 0.0, 1.0, "probability", "thesis L1112 [O9] (M52): 'no guarantee that the corrupt "
                         "police would not sacrifice them in order to divert suspicion from themselves'; value "
                         "assumption (even odds: the thesis gives no frequency)", "Chance a protector who stops "
                         "protecting hands each of his clients over to be arrested instead of letting him go.")
    runner_boost: float = P(3.0, 1.0, 100.0, "ratio", "thesis L1620-1624 [DE2], L1606 [DE11] (M50): the "
                            "protected dealer hands police runners and customers; factor assumption",
                            "Extra arrest risk of a protected team's customers.")
    bribe_at_arrest: float = P(0.3, 0.0, 1.0, "probability", "thesis L1648 [P5]: dealers offered cars, money, "
                               "flats at arrest; value assumption", "Chance a corrupt arresting officer takes "
                               "a bribe and drops the case.")
    arrest_bribe_share: float = P(0.5, 0.0, 1.0, "fraction", "assumption (the thesis gives no amount)",
                                  "Share of his cash a person pays to buy his case away (at most "
                                  "`arrest_bribe_max_kzt`).")
    arrest_bribe_max_kzt: float = P(1e7, 0.0, 1e9, "KZT", "thesis L1648 [P5]: dealers offered their car, money; "
                                    "police 'could extort even flats'. Value assumption: about a flat in a regional "
                                    "city in 2012. Nothing spends traffickers' profits, so their cash is unbounded "
                                    "(ODD 7.10 rule 2); without a ceiling half of it reached 393 M KZT",
                                    "Most a person pays to buy his case away.")
    extortions_per_week: float = P(3.0, 0.0, 100.0, "users/officer/week", "thesis L1590 [O3], L1634-1638 "
                                   "[DE3] (M51); value assumption", "Users one extorting officer robs a week.")
    extortion_kzt: float = P(2_000.0, 0.0, 1e6, "KZT", "thesis L1634-1638 [DE3]: money 'for gasoline' or the "
                             "buyer's doses; value assumption", "Cash taken from a user per extortion.")
    resold_share: float = P(0.3, 0.0, 1.0, "fraction", "thesis L1630, L1634 [DE3]: officers dealing drugs; "
                            "value assumption", "Share of drugs seized by a dealing officer that go back to "
                            "the market instead of the evidence room.")
    customs_waive: float = P(0.5, 0.0, 1.0, "fraction", "thesis L1072 [DE3], L1540 (M48): corrupt customs wave "
                             "trucks through; value assumption", "Share of searches a corrupt customs "
                             "officer skips.")


class AnticorruptionParams(Section):
    detect_rate: float = P(0.03, 0.0, 5.0, "1/year", "value assumption: low before the anti-corruption "
                           "campaign 'initiated in 2014' (thesis L2069); no major drug-mafia trial in Central Asia "
                           "until 2014 (L318; L320 says before 2011); some corrupt police were already imprisoned "
                           "in 2011 (L1708-1710 [P19]: 'around 15 people were imprisoned, may be 10')",
                           "Yearly chance a corrupt officer is detected by an independent agency.")
    sentence_years: float = P(3.0, 0.0, 30.0, "years", "value assumption. Thesis L1702 (OECD 2017: first half of "
                              "2016, all state officials, not police alone): of 235 convicted, 152 fined and 56 "
                              "imprisoned (6 up to 2 years, 33 for 2-5, 17 for 5-12), about 4.7 years on average for "
                              "the imprisoned (class mid-points) and about 1.1 over all convicted; L1720 [P13][P20]"
                              "[P26]: often 10-25 years for those caught face to face with criminals",
                              "Mean prison term of a convicted corrupt officer (0 = fines only).")
    bribery_charge: bool = P(False, None, None, "flag", "thesis L1108, L1112 [P4][O6] (M57); off before "
                             "2015 is an assumption: the L1106-1108 case, whose dealer was also found guilty of "
                             "bribery, is Criminal Case № 1-1/2014 (Kostanay), while anticorruption-2015 switches it "
                             "on in January 2015", "Dealers of a "
                             "convicted protector are arrested with him and charged with bribery too.")
    taken_down: float = P(0.7, 0.0, 1.0, "probability", "thesis L1112 [P4][O6]: protected dealers are 'likely "
                          "to be taken down with them'; value assumption", "Chance each client of a convicted "
                          "protector is arrested with him, when bribery charges apply.")
    bribery_years: float = P(5.0, 0.0, 30.0, "years", "thesis L1108: the dealer's sentence exceeded the corrupt "
                             "officers'; value assumption", "Years added to a dealer's sentence for bribery.")
    rumour_dismissal: float = P(0.0, 0.0, 1.0, "1/year", "thesis L1712, L1718 [P19] (M58): officers fired on "
                                "rumours; value assumption", "Yearly chance an honest drug officer is dismissed "
                                "on compromising material.")
    manager_liability: float = P(0.0, 0.0, 1.0, "probability", "thesis L1704: 52 police bosses fired "
                                 "Jan-Sep 2019 'for the disciplinary infractions of their subordinates' (S3); 0 before "
                                 "the anticorruption-2015 step of July 2019 and 0.5 there are assumptions (see that "
                                 "file)", "Chance a regional manager is dismissed when a subordinate "
                                 "is convicted of corruption.")
    supervision: float = P(1.0, 0.0, 10.0, "ratio", "thesis L1704 (S3: liability 'had an immediate positive "
                           "effect'), L1696 (managers liable for not taking 'adequate measures'), L1662-1664 [P20] "
                           "('Everything depends on the Director!'); value assumption: a director who watches his "
                           "men finds them as readily as the outside agencies, no more (they hide from superiors, "
                           "L1652-1654 [DE2])", "How readily an honest manager who answers for his subordinates finds "
                           "and fires his corrupt line officers: his yearly rate is supervision x "
                           "manager_liability x detect_rate.")
    salary_index: float = P(1.0, 0.1, 10.0, "ratio", "thesis L1572-1574 [P10]: 'every year it continues to "
                            "increase a certain percentage' (not modelled: the index stays 1 until July 2019, an "
                            "assumption); external-facts §5: +55% for operational staff on 1 July 2019 (patrol +65%, "
                            "others +25%), relative to their pay before that date, not to 2012",
                            "Police pay relative to 2012.")
    chill: float = P(0.0, 0.0, 1.0, "fraction", "thesis L1916 [P20], L1610 (M58): contact with dealers reads as "
                     "corruption, so officers stop gathering intelligence; 0 before the reform, whose value "
                     "(0.3 on the anticorruption-2015 timeline) is an assumption",
                     "Loss of the chance to document cases against wholesalers and traffickers.")


class JusticeParams(Section):
    conviction_rate: float = P(0.999, 0.0, 1.0, "probability", "value assumption: thesis L1906 gives no rate, "
                               "only 'no chance to avoid criminal responsibility' and a lawyer's 'first sentence of "
                               "acquittal for a drug-related crime' [O7] (M42)",
                               "Chance a charged person is convicted.")
    cooperation_rate: float = P(0.01, 0.0, 1.0, "probability", "thesis L1956 [P23]: 99% of small dealers refuse "
                                "to cooperate before arrest; L1950-1958 (M37)", "Chance an arrested dealer or "
                                "pool buyer is a registered cooperating witness.")
    witness_protection: bool = P(False, None, None, "flag", "thesis L1942-1946 [P5], L1986 [P1] (M43): exists on "
                                 "paper, not used", "Working witness protection: dealers testify against their "
                                 "supplier.")
    protected_cooperation: float = P(0.25, 0.0, 1.0, "probability", "assumption (S6)", "Chance an arrested dealer "
                                     "testifies when witness protection works.")
    testimony_conviction: float = P(0.8, 0.0, 1.0, "probability", "assumption: with a witness the case against "
                                    "the supplier stands (L1018 [20])", "Chance a witness's testimony puts his "
                                    "supplier in prison.")
    threshold_factor: float = P(1.0, 0.01, 10_000.0, "ratio", "thesis Table 7.1 (L1796-1800) sets 1; S8 "
                                "softer thresholds > 1", "Multiplier on the weight thresholds of Table 7.1, every drug "
                                "and charge.")
    heroin_threshold_factor: float = P(1.0, 0.01, 10_000.0, "ratio", "thesis Table 7.1 (L1796-1800) sets 1; a "
                                       "heroin-only lever: over 1 g of heroin is 'extra-large' (L1796-1800)",
                                       "Multiplier on the heroin thresholds only, on top of threshold_factor.")
    possession_threshold_factor: float = P(1.0, 0.01, 10_000.0, "ratio", "thesis Table 7.1 (L1796-1800) sets 1; "
                                           "a lever for possession charges only, not sale",
                                           "Multiplier on the thresholds of possession charges only (users, and "
                                           "dealers whose sale is not documented), on top of threshold_factor.")
    cannabis_possession_threshold_factor: float = P(
        1.0, 0.01, 10_000.0, "ratio", "thesis Table 7.1 (L1796-1800) sets 1; S18 cannabis decriminalisation, "
        "suggested by [DE1][DE2] (L1359)", "Multiplier on the thresholds of marijuana and hashish possession charges "
        "only, on top of the others: 100 makes up to 50 g of either no crime to hold.")
    sentence_spread: float = P(0.2, 0.0, 1.0, "fraction", "assumption", "Spread of sentences around the "
                               "table's mean (coefficient of variation).")


class PrisonParams(Section):
    initial_inmates: float = P(16_000.0, 0.0, 200_000.0, "persons", "assumption: about 50,000 prisoners in 2012 "
                               "(external-facts §2: 57,000 in 2011, 44,500 in mid-2015), a third for drug offences "
                               "(no figure exists; ~2/3 c. 2001, OSI estimate)", "People in prison for drug "
                               "offences at the start, national scale.")
    prior_record_share: float = P(0.7, 0.0, 1.0, "fraction", "thesis L1199 [P23]: ~70% of members of convicted "
                                  "groups had criminal records and 'were in prison together'", "Share of the "
                                  "starting dealers who served time before the run (with prison ties).")
    heroin_user_record_share: float = P(0.38, 0.0, 1.0, "fraction", "assumption: the share the baseline holds "
                                        "among users (not dealers), start to end of 2019: 0.34 ended at 0.359, "
                                        "0.37 at 0.376, 0.38 at 0.377, 0.39 at 0.378 (scale 0.2, seed 1, session "
                                        "28, once undocumented sales were charged as possession; session 15: "
                                        "0.32 ended at 0.338, 0.34 at 0.336, 0.36 at 0.351, with the "
                                        "income cut after a first term; sessions 13-14 compared users and retail "
                                        "dealers at the end with users at the start and gave 0.42, then 0.39): "
                                        "users are imprisoned at about 3% a year and have used for years; 'a "
                                        "majority of drug addicts sooner or later end up in prison' (L980 [DE7]) "
                                        "is a lifetime share", "Share of the heroin users at the start who served a "
                                        "prison term before the run (with prison ties).")
    cannabis_user_record_share: float = P(0.11, 0.0, 1.0, "fraction", "assumption: the share the baseline holds "
                                          "among users, as for heroin: 0.11 ended 2019 at 0.110-0.113, 0.12 at "
                                          "0.116 (scale 0.2, seed 1, session 15; 0.09 until session 15)",
                                          "Share of the cannabis users at the start who served a prison term before "
                                          "the run (with prison ties).")
    served_share: float = P(0.7, 0.1, 1.0, "fraction", "assumption: parole and the 2015 alternatives to prison "
                            "(thesis L1786)", "Share of a sentence actually served.")
    ties_per_inmate: float = P(2.0, 0.0, 50.0, "ties", "thesis L1199 [P23]: 70% of convicted group members 'were "
                               "in prison together'; L1114-1131 (M69); count assumption", "Prison ties an inmate "
                               "forms while inside.")
    obshak_share: float = P(0.1, 0.0, 1.0, "share/month", "thesis L848 [P2]: obshak payments cannot be escaped "
                            "in prison; L832 [P28] (M64); value assumption", "Share of a dealer-inmate's cash paid "
                            "to the obshak each month.")
    release_income_share: float = P(0.25, 0.0, 1.0, "fraction", "thesis L980 [DE1]: released prisoners have "
                                    "'almost no legal opportunity to provide for themselves'; value assumption "
                                    "('almost no' read as a quarter, fixed before any run)", "Legal income after a "
                                    "first prison term, as a share of the income before it (users who cannot finance "
                                    "their habit are recruited to deal first, M31).")
    back_to_dealing: bool = P(True, None, None, "flag", "thesis L980 [DE7][DE1][DE2] (M69): released addicts "
                              "'often return to the environment they know and transform their freshly gained "
                              "knowledge and networks into business opportunities' (ODD 7.13 rule 5)", "A released "
                              "user or retail dealer joins the team of a prison mate who is now a wholesaler of "
                              "his market, if it has room.")


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: date
    set: dict[str, Any] = Field(default_factory=dict)
    note: str = ""

    @field_validator("set", mode="before")
    @classmethod
    def _dotted(cls, values: Any) -> Any:
        """`{ market.adulteration = 0.3 }` (TOML dotted keys, a nested table) means `"market.adulteration"`."""
        if not isinstance(values, dict):
            return values
        return {f"{k}.{sub}" if isinstance(v, dict) else k: x
                for k, v in values.items() for sub, x in (v.items() if isinstance(v, dict) else [(None, v)])}


def step_text(when: Any, values: dict[str, Any]) -> str:
    """One timeline step for a reader: `date: key = value, ...` (notes left out: they run to paragraphs)."""
    return f"{str(when)[:10]}: " + ", ".join(f"{key} = {value}" for key, value in values.items())


def last_monday(start: date, weeks: int) -> date:
    """The first day of the last recorded week of a run: a timeline step dated after it never acts (the simulation
    applies a step in the first week that starts on or after its date)."""
    return start + timedelta(weeks=max(1, weeks) - 1)


def set_keys(sets: Iterable[str]) -> list[str]:
    """The parameters named by `--set section.field=value` items."""
    return [item.split("=", 1)[0].strip() for item in sets]


def changed_later(scen: Scenario, keys: Iterable[str]) -> list[str]:
    """A warning line for each parameter of `keys` (given by --set, varied by a study) that a timeline step of `scen`
    changes during the run: the value given holds only until that step, which a user may not expect; and for each
    dated key that added a step to `scen` (`compare` and `validate` lay --set on every side, a baseline included)."""
    last = last_monday(scen.time.start, scen.weeks)
    lines = []
    for key in dict.fromkeys(keys):
        param, when = split_step(key)
        after = when or date.min
        if dates := [str(ev.date) for ev in scen.timeline if param in ev.set and after < ev.date <= last]:
            lines.append(f"the value given for {key} holds only until the timeline of {scen.name} changes it on "
                         f"{', '.join(dates)}")
        if when is not None and any(ev.note == f"{ADDED_STEP}{param}@{when}" for ev in scen.timeline):
            lines.append(f"{key} adds a timeline step on {when} to {scen.name}, which has none on that date")
    return lines


def steps_outside_run(scen: Scenario) -> list[str]:
    """Warning lines naming the timeline steps dated after the run's last week, which never act, and those dated
    before its start, which act from its first week on (a mistyped year is the likelier cause); [] if none."""
    lines = []
    if early := [str(ev.date) for ev in scen.timeline if ev.date < scen.time.start]:
        lines.append(f"the run starts on {scen.time.start}: the timeline steps of {', '.join(early)} apply from its "
                     "first week")
    last = last_monday(scen.time.start, scen.weeks)
    if late := [str(ev.date) for ev in scen.timeline if ev.date > last]:
        lines.append(f"the run's last week starts on {last}: the timeline steps of {', '.join(late)} are not applied")
    return lines


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    name: str = "custom"
    description: str = ""
    extends: str | None = None
    time: TimeParams = Field(default_factory=TimeParams)
    population: PopulationParams = Field(default_factory=PopulationParams)
    supply: SupplyParams = Field(default_factory=SupplyParams)
    trafficking: TraffickingParams = Field(default_factory=TraffickingParams)
    market: MarketParams = Field(default_factory=MarketParams)
    users: UsersParams = Field(default_factory=UsersParams)
    relations: RelationsParams = Field(default_factory=RelationsParams)
    policing: PolicingParams = Field(default_factory=PolicingParams)
    corruption: CorruptionParams = Field(default_factory=CorruptionParams)
    anticorruption: AnticorruptionParams = Field(default_factory=AnticorruptionParams)
    justice: JusticeParams = Field(default_factory=JusticeParams)
    prison: PrisonParams = Field(default_factory=PrisonParams)
    timeline: list[TimelineEvent] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        """The name names the run folder: no path separators, no leading dot."""
        if not name.strip() or any(c in name for c in "/\\") or name.startswith(".") or name != name.strip():
            raise ValueError("a scenario name must be a plain file name: no '/' or '\\', no leading '.' or spaces")
        return name

    @model_validator(mode="after")
    def _someone_uses(self) -> Scenario:
        if not has_users(self):
            raise ValueError(NO_USERS)
        return self

    @field_validator("timeline")
    @classmethod
    def _check_timeline(cls, events: list[TimelineEvent]) -> list[TimelineEvent]:
        for ev in events:
            if not ev.set:  # a step that changes nothing is a slip (a misspelt `set`, or values left out)
                raise ScenarioError(f"timeline {ev.date}: a step needs set = {{ \"section.field\" = value, ... }}")
            for key, value in ev.set.items():
                if "@" in key:
                    raise ScenarioError(f"timeline {ev.date}: {unknown_parameter(key)}")
                if start_only(key):
                    raise ScenarioError(f"timeline {ev.date}: '{key}' only sets up the start and cannot change "
                                        "during a run")
                try:
                    check_override(Scenario(), key, value)
                except ScenarioError as exc:
                    raise ScenarioError(f"timeline {ev.date}: {exc}") from None
        return sorted(events, key=lambda e: e.date)

    @property
    def weeks(self) -> int:
        return max(1, round(self.time.years * 52.1775))


def has_users(scen: Scenario) -> bool:
    return scen.population.heroin_users + scen.population.cannabis_users > 0


NO_USERS = "a market needs users: population.heroin_users + population.cannabis_users must be above 0"
SECTIONS = ("time", "population", "supply", "trafficking", "market", "users", "relations", "policing",
            "corruption", "anticorruption", "justice", "prison")
INIT_ONLY_SECTIONS = ("time", "population")
INIT_ONLY_PARAMS = ("trafficking.export_share", "trafficking.export_sensitivity", "relations.community_share",
                    "relations.community_upper_start", "relations.kin_group_size",
                    "relations.kin_reach", "relations.circle_size", "policing.drug_officers",
                    "policing.customs_officers", "prison.initial_inmates", "prison.prior_record_share",
                    "prison.heroin_user_record_share", "prison.cannabis_user_record_share",
                    # drawn once per person or officer on entry: a step would reach only newcomers
                    "corruption.norm_cost", "corruption.regional_spread", "users.heroin_g_per_day",
                    "users.marijuana_g_per_day", "users.hashish_g_per_day", "users.weekly_income",
                    "users.income_spread", "prison.release_income_share",
                    # a lot's size is drawn when it is created: a step would reach only new lots
                    "supply.lots_follow_scale")


def builtin_names() -> list[str]:
    files = resources.files("northroute") / "scenarios"
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".toml"))


def _closest_builtin(name: str | Path) -> str:
    """' (did you mean ...?)' naming the built-in scenario a mistyped name is closest to, or ''."""
    close = difflib.get_close_matches(str(name), builtin_names(), n=1, cutoff=0.8)
    return f" (did you mean '{close[0]}'?)" if close else ""


def not_found(path: Path, kind: str) -> str:
    """The one-line error for a `kind` ("scenario file", "run folder") that `path` is not: missing, or the
    other of a file and a folder."""
    if path.exists():
        other = "folder" if path.is_dir() else "file"
        return f"{path} is a {other}, not a {kind}"
    return f"{kind} not found: {path}"


def _read_toml(source: str | Path) -> tuple[dict[str, Any], Path | None]:
    """A scenario's table and its file (None for a built-in). A run's manifest.json is read as the scenario it
    ran, so a run can be repeated from its folder."""
    path = Path(source)
    if path.suffix in (".toml", ".json") or path.is_file():
        if not path.is_file():
            raise ScenarioError(not_found(path, "scenario file"))
        try:
            text, where = path.read_text(encoding="utf-8-sig"), path.resolve()
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"cannot read {source}: {exc}") from None
    elif str(source) in builtin_names():
        text, where = (resources.files("northroute") / "scenarios" / f"{source}.toml").read_text("utf-8"), None
    else:
        raise ScenarioError(f"unknown scenario '{source}'{_closest_builtin(source)} (built-ins: "
                            f"{', '.join(builtin_names())}; "
                            "or give a path to a .toml file)")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"bad JSON in {source}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("scenario"), dict):
            raise ScenarioError(f"{source} is not a run's manifest.json (no 'scenario' table)")
        return {k: v for k, v in data["scenario"].items() if v is not None}, where
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"bad TOML in {source}: {exc}") from None


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _parent(data: dict[str, Any], where: Path | None, source: str | Path) -> str | Path | None:
    """The scenario `data` extends: a built-in by name, else the file of that name next to the one that names it."""
    parent = data.get("extends")
    if not parent or where is None or str(parent) in builtin_names():
        return parent or None
    path = where.parent / str(parent)
    if not path.is_file():  # name what was written: a mistyped built-in is not a path
        raise ScenarioError(f"unknown scenario '{parent}'{_closest_builtin(parent)} (not a built-in: northroute "
                            "scenarios lists them; nor a "
                            f"file next to {source})")
    return path


def _raw(source: str | Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    data, where = _read_toml(source)
    me = str(where) if where is not None else str(source)  # a file by its resolved path, a built-in by name
    parent = _parent(data, where, source)
    if parent:
        resolved = str(Path(parent).resolve()) if Path(parent).is_file() else str(parent)
        if resolved in (*seen, me):
            raise ScenarioError(f"scenario '{source}' extends itself through '{data.get('extends')}'")
        base = _raw(parent, (*seen, me))
        base.pop("name", None)
        base.pop("description", None)
        data = _merge(base, {k: v for k, v in data.items() if k != "timeline"}) | {
            "timeline": base.get("timeline", []) + data.get("timeline", [])
        }
    return data


def start_only(name: str) -> bool:
    """Whether a parameter only sets up the start, so a timeline step cannot change it."""
    return name.split(".")[0] in INIT_ONLY_SECTIONS or name in INIT_ONLY_PARAMS


def unknown_parameter(key: str, otherwise: str = "") -> str:
    """The one-line error for a parameter that does not exist, with the closest name when one is close (a typo)
    or has the same field name (a missing or wrong section), else `otherwise` appended."""
    if "@" in key:  # a dated key where only parameters go: a section table, a step's set, a --values file
        return (f"'{key}': a key with a date sets a timeline step from --set, --vary or --params; in a file, write "
                "a [[timeline]] step")
    names = [f"{sec}.{name}" for sec in SECTIONS for name in Scenario.model_fields[sec].annotation.model_fields]
    field = key.rsplit(".", 1)[-1]  # similarity cutoff 0.8 below: assumption (difflib's default 0.6 guesses wildly)
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.8) or [n for n in names if n.endswith(f".{field}")]
    return f"unknown parameter '{key}'" + (f" (did you mean '{close[0]}'?)" if len(close) == 1 else otherwise)


def _one_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return unknown_parameter(loc)
    msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    if len(err["loc"]) == 3 and err["loc"][0] == "timeline":  # its index counts the steps of the scenario extended
        loc = f"timeline {err['loc'][2]}"
        msg = "a step's date must be a date such as 2016-01-04" if err["loc"][2] == "date" else msg
    # as written: a table's or a date's repr is Python (datetime.date(2012, 1, 3)); strings stay quoted
    got = "" if isinstance(value, dict | list) else value.isoformat() if isinstance(value, date) else repr(value)
    where = f"{loc}: " if loc and not msg.startswith(loc) else ""
    return where + msg + (f" (got {got})" if got and len(got) <= 80 else "")


def load_scenario(source: str | Path = "baseline-2012", overrides: list[str] | None = None) -> Scenario:
    """Load a built-in scenario by name or a TOML file, then apply `section.field=value` overrides."""
    for item in overrides or []:  # first: `--set key value` makes the value the scenario argument
        if "=" not in item:
            raise ScenarioError(f"--set needs section.field=value, got '{item}'")
    data = _raw(source)
    data.pop("extends", None)
    try:
        scen = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"scenario {source}: {_one_line(exc)}") from None
    for item in overrides or []:
        key, text = item.split("=", 1)
        scen = apply_override(scen, key.strip(), _parse_value(text.strip()))
    check_whole(scen)
    return scen


def file_values(source: str | Path, seen: tuple[Path, ...] = ()) -> list[str]:
    """The parameter values a scenario file sets itself, as `section.field=value` overrides, so that one set of
    values (calibrate's calibrated.toml) can be laid on several scenarios alike. Its name, description and
    `extends` of a built-in are not values; a file it extends gives its values first, so the file's own win. A
    timeline or a time section is refused: dated changes and the run's dates or length belong to each scenario,
    not to a set of values."""
    data, where = _read_toml(source)
    if data.get("timeline"):
        raise ScenarioError(f"{source} has a timeline: --values takes a file of parameter values only, such as "
                            "calibrate's calibrated.toml")
    sets, blank = [], Scenario()
    for section, table in data.items():
        if section in ("name", "description", "extends"):
            continue
        if not isinstance(table, dict):
            raise ScenarioError(f"{source}: '{section}' is not a section of parameters")
        if section == "time":
            raise ScenarioError(f"{source} sets time.*: --values takes parameter values, not the run's dates or length")
        for k, v in table.items():
            try:  # named with its file: the values are laid on other scenarios later, far from it
                if "@" in k:
                    raise ScenarioError(unknown_parameter(f"{section}.{k}"))
                check_override(blank, f"{section}.{k}", v)
            except ScenarioError as exc:
                raise ScenarioError(f"{source}: {exc}") from None
            sets.append(f"{section}.{k}={tomli_w.dumps({'v': v}).removeprefix('v = ').strip()}")
    parent = _parent(data, where, source)
    if isinstance(parent, Path):
        if parent.resolve() in (*seen, where):
            raise ScenarioError(f"scenario '{source}' extends itself through '{data['extends']}'")
        sets = file_values(parent, (*seen, where)) + sets
    if not sets:
        raise ScenarioError(f"{source} sets no parameter values")
    return sets


def check_whole(scen: Scenario) -> None:
    """The checks across sections that overrides applied one at a time skip: raise ScenarioError."""
    if not has_users(scen):
        raise ScenarioError(NO_USERS)


def _parse_value(text: str) -> Any:
    """A value typed on the command line, read as TOML (`0.3`, `true`, `"text"`, `2016-01-04`); `True` and `False`
    as written in Python are flags too, since the shell is not a TOML file."""
    if text.strip() in ("True", "False"):
        return text.strip() == "True"
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def check_override(scen: Scenario, key: str, value: Any) -> None:
    """Raise ScenarioError unless `key` names a parameter and `value` fits its range."""
    apply_override(scen.model_copy(deep=True), key, value)


def split_step(key: str) -> tuple[str, date | None]:
    """`section.field@YYYY-MM-DD` (the value a timeline step sets on that date) as (section.field, date);
    a plain `section.field` as (key, None)."""
    if "@" not in key:
        return key, None
    param, _, when = key.partition("@")
    try:
        return param.strip(), date.fromisoformat(when.strip())
    except ValueError:
        raise ScenarioError(f"{key}: after '@' comes a timeline step's date such as 2016-01-04, got "
                            f"'{when.strip()}'") from None


def declared_type(key: str) -> Any:
    """The type the schema declares for `section.field` (None for an unknown key): a study or a fit samples
    and rounds by it, not by the type of the value written."""
    section, _, name = split_step(key)[0].partition(".")
    model = Scenario.model_fields[section].annotation if section in SECTIONS else None
    field = getattr(model, "model_fields", {}).get(name)
    return field.annotation if field is not None else None


def is_integer(key: str) -> bool:
    return declared_type(key) is int


def apply_override(scen: Scenario, key: str, value: Any) -> Scenario:
    """Set `section.field` to `value`, or, for `section.field@DATE`, the value the timeline step of that date sets
    (the step is made if the scenario has none on that date), so a study can vary a policy that starts late."""
    param, when = split_step(key)
    if when is not None:
        return _apply_step(scen, param, when, value)
    parts = key.split(".")
    if len(parts) != 2 or parts[0] not in SECTIONS:
        raise ScenarioError(unknown_parameter(key, f" (use section.field, sections: {', '.join(SECTIONS)})"))
    section = getattr(scen, parts[0])
    if parts[1] not in type(section).model_fields:
        raise ScenarioError(unknown_parameter(key))
    try:
        setattr(section, parts[1], value)
    except ValidationError as exc:
        raise ScenarioError(f"{key}: {exc.errors()[0]['msg'].removeprefix('Value error, ')} (got {value!r})") from None
    return scen


ADDED_STEP = "added by "  # the note of a timeline step that a dated key made (`changed_later` warns of it)


def _week_of(day: date) -> date:
    """The Monday on or after `day`: the week in which a step of that date acts (runs start on a Monday)."""
    return day + timedelta(days=-day.weekday() % 7)


def _apply_step(scen: Scenario, key: str, when: date, value: Any) -> Scenario:
    """Set what the step of `when` sets for `key`, as the schema holds it (a flag as a bool, 0 for a real number as
    0.0); the last step of that date, the one that acts last; a new step if none has that date, refused if another
    step sets `key` in the same week, which would override it."""
    name = f"{key}@{when}"
    try:
        typed = override_value(apply_override(Scenario(), key, value), key)
    except ScenarioError as exc:  # the parameter's own one-line errors, naming the step
        raise ScenarioError(str(exc).replace(f"{key}:", f"{name}:", 1)) from None
    steps = [ev.model_copy(deep=True) for ev in scen.timeline]
    same = [ev for ev in steps if ev.date == when]
    if same:
        same[-1].set[key] = typed
    elif rival := [ev for ev in steps if key in ev.set and _week_of(ev.date) == _week_of(when)]:
        raise ScenarioError(f"{name}: the step of {rival[0].date} sets {key} in the same week and would override "
                            f"it; did you mean {key}@{rival[0].date}?")
    else:
        steps.append(TimelineEvent(date=when, set={key: typed}, note=f"{ADDED_STEP}{name}"))
    try:
        scen.timeline = steps
    except ValidationError as exc:
        raise ScenarioError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return scen


def override_value(scen: Scenario, key: str) -> Any:
    """The value `key` holds in `scen`: a parameter's start value, or what the timeline steps of a
    `section.field@DATE` key's date set for it, the last of them (None if none of them sets it)."""
    param, when = split_step(key)
    if when is None:
        section, attr = param.split(".")
        return getattr(getattr(scen, section), attr)
    return next((ev.set[param] for ev in reversed(scen.timeline) if ev.date == when and param in ev.set), None)



RUN_SETTINGS = ("time.start", "time.years", "time.burn_in_weeks", "population.scale")  # shown apart in reports


def changed_from_defaults(resolved: dict[str, Any]) -> list[dict[str, Any]]:
    """{parameter, value, default} of every parameter whose start value in a resolved scenario (a manifest's) is not the
    model's default, the run settings left out: what a reader needs besides the scenario's name, since its own
    sections and any `--set` are otherwise invisible in a report. The timeline is not included."""
    defaults = Scenario().model_dump(mode="json")
    changed = []
    for sec in SECTIONS:
        for key, default in defaults[sec].items():
            name, value = f"{sec}.{key}", (resolved.get(sec) or {}).get(key, default)
            if name not in RUN_SETTINGS and value != default:
                changed.append({"parameter": name, "value": value, "default": default})
    return changed


def changed_text(changed: list[dict[str, Any]]) -> list[str]:
    """`changed_from_defaults` as lines 'name = value (default d)'."""
    return [f"{c['parameter']} = {c['value']} (default {c['default']})" for c in changed]


def provenance_kind(provenance: str) -> str:
    """What a provenance says of the value: from the thesis, from another source, a sourced rule with an assumed
    value ("thesis L1910 ...; mean assumption", or an interpretation marked [interp]) or a value calibrated to a
    record by hand, an assumption outright, or a run setting (the period and scale simulated)."""
    p = provenance.strip().lower()
    if p.startswith("assumption"):
        return "assumption"
    if p.startswith("run setting"):  # what the user chooses to simulate (period, scale), not a claim about the world
        return "run setting"
    if "calibrated" in p:  # a value fitted to a record by hand ("value calibrated to ... L1908")
        return "sourced rule, calibrated value"
    if "assumption" in p or "[interp]" in p:
        return "sourced rule, assumed value"
    if "thesis" in p or re.search(r"\bl\d{3,4}\b", p):
        return "value from the thesis"
    return "value from another source"


def param_table() -> list[dict[str, Any]]:
    """Every parameter with unit, range, default, provenance and the kind of its provenance (`provenance_kind`),
    for `northroute params`."""
    rows = []
    for sec in SECTIONS:
        model = Scenario.model_fields[sec].annotation
        for name, field in model.model_fields.items():
            extra = field.json_schema_extra or {}
            lo = hi = None
            for meta in field.metadata:
                lo = getattr(meta, "ge", lo)
                hi = getattr(meta, "le", hi)
            rows.append({
                "name": f"{sec}.{name}",
                "unit": extra.get("unit", ""),
                "min": lo,
                "max": hi,
                "default": field.default,
                "provenance": extra.get("provenance", ""),
                "kind": provenance_kind(extra.get("provenance", "")),
                "description": field.description or "",
            })
    return rows
