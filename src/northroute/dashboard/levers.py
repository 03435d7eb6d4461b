"""The scenario side of the page, free of streamlit: main levers, their checks and uploaded scenario files.

Levers come from `scenario.param_table()` (unit, range, default, provenance), so a renamed or new
parameter needs no change here beyond, at most, a line in `MAIN_LEVERS`. Every message is one plain
sentence a user can act on. Uploaded files are parsed as TOML data by `load_scenario`, never executed,
and may extend only a built-in scenario (a file path in `extends` would make the app read a file outside
its runs folder).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from northroute.dashboard.runs import UPLOADS, confine
from northroute.scenario import (
    Scenario,
    ScenarioError,
    apply_override,
    builtin_names,
    check_whole,
    load_scenario,
    param_table,
)

MAX_UPLOAD_BYTES = 200_000

# name -> (group, short label). Parameters missing from the model are skipped, not an error.
MAIN_LEVERS: dict[str, tuple[str, str]] = {
    "time.years": ("Run", "Years to simulate"),
    "time.burn_in_weeks": ("Run", "Burn-in weeks (not recorded)"),
    "population.scale": ("Run", "Share of the population simulated"),
    "supply.heroin_kg_per_year": ("Supply", "Heroin arriving in 2012"),
    "supply.northern_decline": ("Supply", "Northern Route decline (share per year)"),
    "supply.heroin_uzbek_share": ("Supply", "Heroin share via Uzbekistan"),
    "supply.marijuana_kg_per_year": ("Supply", "Chu Valley marijuana"),
    "supply.hashish_kg_per_year": ("Supply", "Hashish"),
    "supply.greenhouse_kg_per_year": ("Supply", "Greenhouse marijuana"),
    "trafficking.inspection_multiplier": ("Borders", "Border search capacity (multiplier)"),
    "trafficking.staging_search_rate": ("Borders", "Inland searches at staging posts (chance per lot)"),
    "trafficking.detect_if_searched": ("Borders", "Chance a search finds a hidden lot"),
    "trafficking.export_share": ("Borders", "Share of lots sent on to Russia"),
    "market.adulteration": ("Market", "Heroin cutting per hand-over"),
    "market.trafficker_markup": ("Market", "Traffickers' markup"),
    "market.retail_markup": ("Market", "Retail markup"),
    "market.pool_share": ("Market", "Users who buy in pools"),
    "users.heroin_g_per_day": ("Users", "Heroin wanted per user per day"),
    "users.weekly_income": ("Users", "Users' weekly income (median)"),
    "users.heroin_quit_rate": ("Users", "Heroin quit rate"),
    "users.heroin_start_rate": ("Users", "Heroin start rate"),
    "users.price_elasticity": ("Users", "Quitting's response to price"),
    "policing.drug_officers": ("Policing", "Drug police officers (UBN and patrol)"),
    "policing.quota_per_month": ("Policing", "Arrests each officer must make a month"),
    "policing.provable_wholesale": ("Policing", "Chance a case against a wholesaler can be documented"),
    "policing.sale_documented": ("Policing", "Chance a sale is documented (else charged as possession)"),
    "policing.quota_pressure": ("Policing", "Judged on counts (1) or on the level of cases (0)"),
    "corruption.bribe_gain": ("Corruption", "Officers' expected gain from corruption"),
    "corruption.norm_cost": ("Corruption", "Officers' moral cost of corruption"),
    "corruption.clients_per_protector": ("Corruption", "Wholesalers one officer protects"),
    "corruption.shield": ("Corruption", "Arrest risk of a protected wholesaler (relative)"),
    "corruption.team_shield_ratio": ("Corruption", "His retail team's risk relative to his (above 1/shield: "
                                                   "given up)"),
    "corruption.sacrifice": ("Corruption", "Chance a protector hands his client over when he stops"),
    "justice.threshold_factor": ("Justice", "Weight thresholds (times Table 7.1, every drug and charge)"),
    "justice.heroin_threshold_factor": ("Justice", "Heroin thresholds only (times the above)"),
    "justice.possession_threshold_factor": ("Justice", "Possession thresholds only (times the above)"),
    "justice.cannabis_possession_threshold_factor": ("Justice", "Cannabis possession thresholds only (times the "
                                                                 "above; S18)"),
}


class UploadError(ValueError):
    """An uploaded scenario that cannot be used, worded for the user."""


@dataclass(frozen=True)
class Lever:
    name: str
    group: str
    label: str
    unit: str
    lo: float | None
    hi: float | None
    default: Any
    provenance: str
    description: str

    @property
    def is_int(self) -> bool:
        return isinstance(self.default, int) and not isinstance(self.default, bool)

    def range_text(self) -> str:
        if self.lo is None and self.hi is None:
            return ""
        return f"{_num(self.lo) if self.lo is not None else '…'} – {_num(self.hi) if self.hi is not None else '…'}"

    def widget_label(self) -> str:
        """Label with unit and allowed range, visible without hovering."""
        rng = self.range_text()
        return f"{self.label} ({self.unit}{', ' + rng if rng else ''})"

    def help(self) -> str:
        """Hover text: what the parameter does, its default and where the value comes from."""
        return (f"**{self.name}** — {self.description}\n\nAllowed: {self.range_text() or 'any'} {self.unit}; "
                f"model default {_num(self.default)} (a scenario may set another).\n\nProvenance: {self.provenance}")

    def step(self) -> float | int:
        if self.is_int:
            return 1
        span = (self.hi - self.lo) if self.lo is not None and self.hi is not None else abs(self.default) or 1.0
        return 10.0 ** math.floor(math.log10(span / 100)) if span > 0 else 0.01


def _num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return str(v)
    if isinstance(v, int) or float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.6g}" if abs(v) >= 1 else f"{v:.6g}"


def levers() -> list[Lever]:
    rows = {r["name"]: r for r in param_table()}
    out = []
    for name, (group, label) in MAIN_LEVERS.items():
        r = rows.get(name)
        if r is None or isinstance(r["default"], bool) or not isinstance(r["default"], int | float):
            continue
        out.append(Lever(name, group, label, r["unit"], r["min"], r["max"], r["default"], r["provenance"],
                         r["description"]))
    return out


def current_value(scen: Scenario, name: str) -> Any:
    section, field = name.split(".")
    return getattr(getattr(scen, section), field)


def check_lever(lever: Lever, value: Any) -> str | None:
    """None if `value` is acceptable, else one plain sentence saying what is wrong and what is allowed."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return f"{lever.label}: enter a number ({lever.range_text()} {lever.unit})."
    if lever.is_int and float(value) != int(value):
        return f"{lever.label}: enter a whole number of {lever.unit}."
    if (lever.lo is not None and value < lever.lo) or (lever.hi is not None and value > lever.hi):
        return (f"{lever.label}: {_num(value)} {lever.unit} is outside the allowed range "
                f"{lever.range_text()} {lever.unit}.")
    return None


def parse_overrides(text: str) -> tuple[list[tuple[int, str, Any]], list[str]]:
    """Lines of `section.field = value` (blank lines and # comments ignored) as (line number, key, value), and
    a message for every line that is not one, so that a user mends them all at once."""
    pairs, errors = [], []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            errors.append(f"line {n}: write section.field = value, e.g. market.adulteration = 0.3")
            continue
        key, val = (s.strip() for s in line.split("=", 1))
        try:
            pairs.append((n, key, tomllib.loads(f"v = {val}")["v"]))
        except tomllib.TOMLDecodeError:
            errors.append(f"line {n}: '{val}' is not a number, true/false or quoted text")
    return pairs, errors


def build_scenario(base: Scenario, values: dict[str, Any], extra: str = "") -> tuple[Scenario | None, list[str]]:
    """The base scenario with the lever values and extra `section.field = value` lines applied.

    Returns (scenario, []) or (None, messages): every problem is listed, none is raised."""
    by_name = {lv.name: lv for lv in levers()}
    errors = []
    scen = base.model_copy(deep=True)
    for name, value in values.items():
        lever = by_name.get(name)
        msg = check_lever(lever, value) if lever else None
        if msg:
            errors.append(msg)
            continue
        if lever and lever.is_int:
            value = int(value)
        if value == current_value(base, name):
            continue
        try:
            scen = apply_override(scen, name, value)
        except ScenarioError as exc:
            errors.append(f"{lever.label if lever else name}: {exc}")
    pairs, bad = parse_overrides(extra)
    errors += [f"Other parameters: {msg}" for msg in bad]
    for n, key, value in pairs:
        try:
            scen = apply_override(scen, key, value)
        except ScenarioError as exc:
            errors.append(f"Other parameters: line {n}: {exc}")
    if not errors:
        try:
            check_whole(scen)
        except ScenarioError as exc:
            errors.append(str(exc))
    return (None, errors) if errors else (scen, [])


def parse_upload(data: bytes, filename: str, root: Path) -> Scenario:
    """Check an uploaded scenario file and load it; raises UploadError with one plain sentence."""
    name = Path(filename or "upload").name
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(f"'{name}' is {len(data):,} bytes; a scenario file is a few kB (limit "
                          f"{MAX_UPLOAD_BYTES:,} bytes).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadError(f"'{name}' is not a text file: upload a scenario written in TOML.") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UploadError(f"'{name}' is not valid TOML ({exc}).") from None
    parent = raw.get("extends")
    if parent is not None and str(parent) not in builtin_names():
        raise UploadError(f"'{name}' extends '{parent}': an uploaded scenario may extend only a built-in scenario "
                          f"({', '.join(builtin_names())}).")
    folder = confine(root, UPLOADS)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"upload-{os.getpid()}-{os.urandom(4).hex()}.toml"
    try:
        tmp.write_bytes(data)
        return load_scenario(tmp)
    except (ScenarioError, ValueError, TypeError) as exc:
        msg = str(exc).replace(f"scenario {tmp}: ", "").replace(str(tmp), name)
        raise UploadError(f"'{name}' does not fit the scenario format: {msg}.") from None
    finally:
        tmp.unlink(missing_ok=True)
