"""Build docs/ODD.md from docs/ODD.template.md, filling its tables from the code.

    python docs/build_odd.py          # rewrite docs/ODD.md
    python docs/build_odd.py --check  # exit 1 if docs/ODD.md is not what the code and template give
    python docs/build_odd.py --scorecard RUN.json  # store a `validate --json` line as docs/scorecard.json, rebuild

Placeholders: <<PARAMS:group>>, <<CONSTS:module>>, <<METRICS>> (the table), <<METRICS:count>> (how many
series), <<EVENTS>>, <<SCORECARD>> (the facts of validation/facts.py with the values of docs/scorecard.json).
Every parameter of the scenario schema must be assigned to exactly one group, so a new parameter fails the
check until it is documented.
"""

import datetime
import importlib
import json
import pathlib
import re
import subprocess
import sys

import pandas as pd

from northroute import record
from northroute.scenario import param_table
from northroute.validation import FACTS
from northroute.validation.scorecard import band_label, tally
from northroute.world import state

SRC = pathlib.Path(importlib.import_module("northroute").__file__).parent
HERE = pathlib.Path(__file__).resolve().parent

GROUPS = {
    "run": ["time.start", "time.years", "time.burn_in_weeks", "population.scale"],
    "supply": [r for r in (p["name"] for p in param_table()) if r.startswith("supply.")],
    "relations": [r for r in (p["name"] for p in param_table()) if r.startswith("relations.")],
    "trafficking": [
        "trafficking." + n
        for n in [
            "inspection_multiplier",
            "staging_search_rate",
            "detect_if_searched",
            "truck_share",
            "car_share",
            "rail_share",
            "truck_attention",
            "car_attention",
            "max_wait_weeks",
            "keep_selling_share",
            "split_min_kg",
            "split_parts",
            "export_share",
            "export_sensitivity",
            "heroin_russia_price",
            "marijuana_russia_price",
            "hashish_russia_price",
        ]
    ],
    "trade": [
        "market." + n
        for n in [
            "adulteration",
            "cannabis_adulteration",
            "dealer_commission",
            "dealer_daily_dose",
            "stock_cover_weeks",
            "retail_cover_weeks",
            "pool_discount",
        ]
    ],
    "users": [
        "population." + n
        for n in [
            "heroin_users",
            "cannabis_users",
            "hashish_share",
            "heroin_zone_weight_north",
            "cannabis_zone_weight_south",
        ]
    ]
    + [
        "users." + n
        for n in [
            "heroin_g_per_day",
            "marijuana_g_per_day",
            "hashish_g_per_day",
            "weekly_income",
            "income_spread",
            "heroin_quit_rate",
            "cannabis_quit_rate",
            "heroin_start_rate",
            "cannabis_start_rate",
            "price_elasticity",
        ]
    ]
    + ["market.pool_share", "market.pool_size"],
    "careers": [
        "population.users_per_retail_dealer",
        "population.retail_per_wholesaler",
        "population.wholesalers_per_trafficker",
        "market.users_per_dealer_target",
        "market.leader_share",
        "users.dealer_quit_rate",
        "users.early_quit_rate",
        "users.early_quit_weeks",
        "users.idle_dealer_quit_rate",
        "users.deal_start_rate",
        "users.wholesaler_exit_rate",
        "users.promotion_tenure_weeks",
    ],
    "prices": [
        "market.trafficker_markup",
        "market.retail_markup",
        "market.scarcity_elasticity",
        "market.price_adjustment",
        "market.risk_memory_weeks",
        "market.prison_time_weight",
        "trafficking.transport_cost_per_1000km",
    ],
    **{
        section: [r for r in (p["name"] for p in param_table()) if r.startswith(section + ".")]
        for section in ("policing", "corruption", "anticorruption", "justice", "prison")
    },
}

rows = {r["name"]: r for r in param_table()}
assigned = [n for g in GROUPS.values() for n in g]
missing = set(rows) - set(assigned)
extra = set(assigned) - set(rows)
dups = {n for n in assigned if assigned.count(n) > 1}
if missing or extra or dups:
    sys.exit(
        f"parameters not placed in exactly one ODD group: missing {sorted(missing)}, unknown "
        f"{sorted(extra)}, twice {sorted(dups)}"
    )

# which modules read each parameter (source scan, for the "read in" column)
MODS = {p.stem: p.read_text() for p in (SRC / "processes").glob("*.py")}
MODS["sim"] = (SRC / "sim.py").read_text()
MODS["world/state"] = (SRC / "world" / "state.py").read_text()
MODS["scenario"] = (SRC / "scenario.py").read_text()
MODS["record"] = (SRC / "record.py").read_text()
MODS["results"] = (SRC / "results.py").read_text()


def readers(name):
    field = name.split(".")[1]
    return [m for m, t in sorted(MODS.items()) if re.search(r"\." + field + r"\b", t)]


def num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if v is None:
        return ""
    if isinstance(v, float):
        if v == int(v) and abs(v) >= 1000:
            return f"{int(v):,}"
        if abs(v) >= 1e6 and v == int(v):
            return f"{int(v):,}"
        return f"{v:g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def rng(r):
    lo, hi = r["min"], r["max"]
    if lo is None and hi is None:
        return "-"
    return f"{num(lo)} to {num(hi)}"


def esc(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def table(group):
    out = ["| Parameter | Unit | Default | Range | Meaning | Provenance | Read in |", "|---|---|---|---|---|---|---|"]
    for n in GROUPS[group]:
        r = rows[n]
        out.append(
            f"| `{n}` | {esc(r['unit'])} | {num(r['default'])} | {rng(r)} | {esc(r['description'])} | "
            f"{esc(r['provenance'])} | {', '.join(readers(n))} |"
        )
    return "\n".join(out)


CONSTS = {
    "supply": (
        "processes/supply.py",
        ["LOT_SIGMA", "GREENHOUSE_REGIONS", "GREENHOUSE_LOT_DIVISOR", "WARM_START_WEEKS", "HEROIN_SOURCES",
         "MAX_ROUTE_GROWTH", "DECLINE_FROM", "MANY_LOTS_PER_WEEK"],
    ),
    "trade": ("processes/trade.py", ["EWMA", "STOCK_LEFT_G"]),
    "users": ("processes/users.py", ["POOL_REFRESH_WEEKS", "ADDICTION_DRIFT", "CASH_CAP_WEEKS"]),
    "careers": (
        "processes/careers.py",
        ["CAREER_STEP_WEEKS", "RECRUIT_CAP", "CANDIDATES_PER_PLACE", "IDLE_SHARE", "START_TENURE_YEARS",
         "RUNNERS_PER_LEADER"],
    ),
    "state": ("world/state.py", ["WEEKS_PER_YEAR"]),
    "prices": ("processes/prices.py", ["TIER_ROLES", "REFERENCE_WEEKS", "MAX_STOCK_LOSS"]),
    "relations": ("processes/relations.py", ["MONTH"]),
    "policing": ("processes/policing.py", ["TARGET_STEP_WEEKS", "EXPERIENCE_WEEKS", "PATROL_SHARE"]),
    "justice": ("processes/justice.py", ["RETAIL_UNIT_G", "PLEA_FACTOR"]),
    "corruption": (
        "processes/corruption.py",
        ["STEP_WEEKS", "TURN_RATE", "QUIT_RATE", "CAREER_MONTHS", "DEALER_SHARE", "GOLDEN"],
    ),
    "anticorruption": ("processes/anticorruption.py", ["STEP_WEEKS"]),
    "prison": ("processes/prison.py", ["PRISON_STEP_WEEKS", "INMATE_ROLES", "INMATE_DRUGS", "INITIAL_TERM_YEARS"]),
}


def consts(key):
    path, names = CONSTS[key]
    text = (SRC / path).read_text()
    out = ["| Constant | Value | Comment in the code |", "|---|---|---|"]
    for n in names:
        m = re.search(rf"^{n} = (.+?)(?:\s+#\s*(.*))?$", text, re.M)
        assert m, n
        out.append(f"| `{n}` ({path.split('/')[-1]}) | `{m.group(1).strip()}` | {esc(m.group(2) or '(no comment)')} |")
    return "\n".join(out)


def metrics(arg=""):
    if arg == "count":
        return str(len(record.METRICS))
    out = ["| Metric | Level | Places | World | Substance | Unit | Meaning |", "|---|---|---|---|---|---|---|"]
    for m in record.METRICS:
        drugs = "by drug" if m.by_drug else "`all`"
        out.append(f"| `{m.name}` | {m.level} | {m.places} | {m.world} | {drugs} | {m.unit} | {esc(m.doc)} |")
    return "\n".join(out)


def events():
    return ", ".join(f"`{k}`" for k in state.EVENT_KINDS)


SCORECARD = HERE / "scorecard.json"
SCORECARD_COMMAND = "northroute validate --seeds 6 --workers 2 --json --quiet"


def store_scorecard(path: str) -> None:
    """Keep the last line of a `validate --json` output with the commit and date it was run at."""
    facts = json.loads(pathlib.Path(path).read_text().strip().splitlines()[-1])
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    record_ = {"command": SCORECARD_COMMAND, "commit": commit, "date": datetime.date.today().isoformat(),
               "facts": facts}
    SCORECARD.write_text(json.dumps(record_, indent=1) + "\n")


def fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3g}"


def scorecard() -> str:
    """The scorecard table of 1.2: each fact as the code defines it, with the values of docs/scorecard.json."""
    sc = json.loads(SCORECARD.read_text())
    runs = {f["id"]: f for f in sc["facts"]}
    if set(runs) != {f.id for f in FACTS}:
        sys.exit(f"docs/scorecard.json does not score the facts of the code (missing "
                 f"{sorted({f.id for f in FACTS} - set(runs))}, extra {sorted(set(runs) - {f.id for f in FACTS})}): "
                 f"run `{SCORECARD_COMMAND} > RUN.json` and `python docs/build_odd.py --scorecard RUN.json`")
    card = pd.DataFrame([{"id": f.id, "status": runs[f.id]["status"],
                          "construction": "x" if runs[f.id]["by_construction"] else "",
                          "edge": runs[f.id]["interval_crosses_band"]} for f in FACTS])
    t = tally(card)
    out = [f"`{sc['command']}` at commit {sc['commit']} ({sc['date']}): **{t['facts']} of the {t['n_facts']} "
           f"facts pass** ({t['tests']} of {len(card)} tests), {t['facts_built']} of them by construction, so "
           f"{t['facts'] - t['facts_built']} test the model; {t['facts_edge']} of the passes rest on a test whose "
           "90% interval over seeds crosses its band's edge.", "",
           "| Test | Claim | Measured | Run | Band | Observed (90% interval) | Seeds in band | Verdict |",
           "|---|---|---|---|---|---|---|---|"]
    for f in FACTS:
        r = runs[f.id]
        lo, hi = r["interval"]
        seen = "n/a" if r["observed"] is None else f"{fmt(r['observed'])} [{fmt(lo)}, {fmt(hi)}]"
        seeds = f"{r['seeds_in_band']} of {r['n_seeds']}" if r["values"] else "n/a"
        verdict = r["status"] + (", by construction" if r["by_construction"] else "")
        if r["interval_crosses_band"]:
            verdict += ", interval crosses the band's edge"
        out.append(f"| {f.id} | {esc(f.claim)} | {esc(f.metric) or '-'} | {f.scenario} | {esc(band_label(f))} | {seen} "
                   f"| {seeds} | {verdict} |")
    return "\n".join(out)


def build() -> str:
    tpl = (HERE / "ODD.template.md").read_text()

    def sub(m):
        kind, arg = m.group(1), m.group(2)
        fill = {
            "PARAMS": lambda: table(arg),
            "CONSTS": lambda: consts(arg),
            "METRICS": lambda: metrics(arg),
            "EVENTS": events,
            "SCORECARD": scorecard,
        }
        return fill[kind]()

    doc = re.sub(r"<<(PARAMS|CONSTS|METRICS|EVENTS|SCORECARD):?([a-z]*)>>", sub, tpl)
    assert "<<" not in doc
    for n in rows:
        assert f"`{n}`" in doc, n
    return doc


if __name__ == "__main__":
    if "--scorecard" in sys.argv:
        store_scorecard(sys.argv[sys.argv.index("--scorecard") + 1])
    text = build()
    target = HERE / "ODD.md"
    if "--check" in sys.argv:
        if target.read_text() != text:
            print("docs/ODD.md is out of date: run python docs/build_odd.py")
            sys.exit(1)
        print("docs/ODD.md is up to date")
    else:
        target.write_text(text)
        print("wrote", target, len(rows), "parameters")
