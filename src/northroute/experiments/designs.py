"""Study designs: full grids from `--vary`, Morris and Sobol samples from SALib.

Every value a design puts into a run goes through the scenario schema first (`check_override`), so
an unknown parameter or a value out of range is one `ScenarioError` line before anything runs. A
design is a table with one row per design point (`point`, then one column per parameter, named
`section.field`, holding the value the runs use); sensitivity designs also keep SALib's raw sample,
because Morris reads the direction of each step from it and integer parameters are rounded.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from northroute.scenario import (
    Scenario,
    ScenarioError,
    _parse_value,
    apply_override,
    check_override,
    declared_type,
    not_found,
    override_value,
    split_step,
)

METHODS = ("morris", "sobol")
MAX_POINTS = 1_000_000


@dataclass
class Design:
    """Design points of a study; `spec` is what identifies the design when a study is resumed."""

    method: str  # grid | morris | sobol
    points: pd.DataFrame  # point, then one column per parameter (values the runs use)
    spec: dict[str, Any]
    sample: np.ndarray | None = None  # SALib's raw sample (sensitivity only)
    problem: dict[str, Any] | None = field(default=None)

    @property
    def params(self) -> list[str]:
        return [c for c in self.points.columns if c != "point"]

    def overrides(self, point: int) -> list[tuple[str, Any]]:
        """The (parameter, value) pairs of one design point, as plain Python values."""
        return [(name, _plain(self.points[name].iat[point])) for name in self.params]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def coerce(base: Scenario, name: str, value: Any) -> Any:
    """The value as the model will hold it (schema type), or a one-line ScenarioError."""
    return override_value(apply_override(base.model_copy(deep=True), name, value), name)


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ScenarioError(f"{what}: '{text}' is not a number") from None
    if not value.is_finite():
        raise ScenarioError(f"{what}: '{text}' is not a finite number")
    return value


def parse_values(name: str, spec: str) -> list[Any]:
    """Values of one `--vary`: `start:stop:step` (stop included when on the grid), `a,b,c`, or one value."""
    what = f"--vary {name}"
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise ScenarioError(f"{what}: a range is start:stop:step, got '{spec}'")
        start, stop, step = (_number(p, what) for p in parts)
        if step <= 0:
            raise ScenarioError(f"{what}: the step must be positive, got '{parts[2]}'")
        if stop < start:
            raise ScenarioError(f"{what}: empty range '{spec}' (stop below start)")
        count = int((stop - start) / step) + 1
        if count > MAX_POINTS:
            raise ScenarioError(f"{what}: range '{spec}' has {count:,} values")
        integral = all(p.strip().lstrip("+-").isdigit() for p in parts)
        values = [start + k * step for k in range(count)]
        return [int(v) if integral else float(v) for v in values]
    items = [s.strip() for s in spec.split(",")]
    if not spec.strip() or any(not s for s in items):
        raise ScenarioError(f"{what}: empty value list '{spec}'")
    return [_parse_value(s) for s in items]


def param_type(base: Scenario, name: str) -> type:
    """The Python type of a parameter, or the schema's one-line 'unknown parameter' error."""
    section, _, attr = split_step(name)[0].partition(".")
    sec = getattr(base, section, None)
    if not attr or attr not in getattr(type(sec), "model_fields", {}):
        check_override(base, name, None)  # raises the schema's own 'unknown parameter' line
        raise ScenarioError(f"unknown parameter '{name}'")  # pragma: no cover - check_override raised
    declared = declared_type(name)
    return declared if declared in (int, float, bool, str) else type(getattr(sec, attr))


def parse_vary(item: str, base: Scenario) -> tuple[str, list[Any]]:
    """`section.field=SPEC` checked against the schema: every value must be one the model accepts."""
    if "=" not in item:
        raise ScenarioError(f"--vary needs section.field=start:stop:step or section.field=a,b,c, got '{item}'")
    name, spec = (s.strip() for s in item.split("=", 1))
    try:
        param_type(base, name)
        values = [coerce(base, name, value) for value in parse_values(name, spec)]
    except ScenarioError as exc:
        text = str(exc)
        raise ScenarioError(text if text.startswith("--vary") else f"--vary: {text}") from None
    if len(set(map(repr, values))) != len(values):
        raise ScenarioError(f"--vary {name}: repeated values in '{spec}'")
    return name, values


def grid(varies: list[tuple[str, list[Any]]]) -> Design:
    """Full factorial over every `--vary`, first parameter slowest; point = row number."""
    names = [n for n, _ in varies]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ScenarioError(f"--vary {sorted(dupes)[0]} is given more than once")
    size = int(np.prod([len(v) for _, v in varies], dtype=float)) if varies else 1
    if size > MAX_POINTS:
        raise ScenarioError(f"the grid has {size:,} points (more than {MAX_POINTS:,})")
    rows = list(itertools.product(*(v for _, v in varies)))
    points = pd.DataFrame(rows, columns=names) if varies else pd.DataFrame(index=range(1))
    points.insert(0, "point", np.arange(len(points), dtype=np.int64))
    spec = {"method": "grid", "parameters": [{"name": n, "values": v} for n, v in varies]}
    return Design("grid", points, spec)


# --------------------------------------------------------------------------------------- sensitivity


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and not {"min", "max"} & value.keys():
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def read_params(path: str | Path) -> dict[str, tuple[float, float]]:
    """Parameter ranges from a TOML file (`"market.adulteration" = [0.1, 0.4]`, `[market]` tables, or
    `{min = .., max = ..}`) or from SALib's text format (`name lower upper` per line)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"--params: {not_found(path, 'file of parameter ranges')}")
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"bad TOML in {path}: {exc}") from None
        ranges = {}
        for name, value in _flatten(data.get("parameters", data)).items():
            if isinstance(value, dict):
                value = [value.get("min"), value.get("max")]
            if not isinstance(value, list) or len(value) != 2:
                raise ScenarioError(f"{path}: '{name}' needs [min, max], got {value!r}")
            ranges[name] = (value[0], value[1])
    else:
        ranges = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = line.split("#")[0].replace(",", " ").split()
            if not words:
                continue
            if len(words) not in (3, 4):
                raise ScenarioError(f"{path} line {n}: expected 'name lower upper', got '{line.strip()}'")
            if words[0] in ranges:
                raise ScenarioError(f"{path} line {n}: '{words[0]}' is given twice")
            ranges[words[0]] = (words[1], words[2])
    if not ranges:
        raise ScenarioError(f"{path}: no parameters")
    return ranges


def problem(ranges: dict[str, tuple[Any, Any]], base: Scenario) -> dict[str, Any]:
    """A SALib problem, every bound checked against the parameter's type and allowed range."""
    names, bounds = [], []
    for name, (lo, hi) in ranges.items():
        try:
            kind = param_type(base, name)
        except ScenarioError as exc:
            raise ScenarioError(f"--params: {exc}") from None
        if kind not in (int, float):
            raise ScenarioError(f"--params {name}: only numeric parameters can be sampled ({kind.__name__})")
        pair = []
        for value in (lo, hi):
            try:
                pair.append(float(value))
            except (TypeError, ValueError):
                raise ScenarioError(f"--params {name}: bound {value!r} is not a number") from None
            try:
                check_override(base, name, kind(round(pair[-1])) if kind is int else pair[-1])
            except ScenarioError as exc:
                raise ScenarioError(f"--params: {exc}") from None
        if not pair[0] < pair[1]:
            raise ScenarioError(f"--params {name}: empty range [{lo}, {hi}] (min must be below max)")
        names.append(name)
        bounds.append(pair)
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sensitivity(method: str, prob: dict[str, Any], n: int, base: Scenario, levels: int = 4,
                sample_seed: int = 0) -> Design:
    """Morris trajectories (N*(D+1) points) or a Saltelli/Sobol sample (N*(D+2) points, no second order)."""
    import warnings

    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    if method not in METHODS:
        raise ScenarioError(f"--method must be one of {', '.join(METHODS)}, got '{method}'")
    if n < 1:
        raise ScenarioError(f"--n must be 1 or more, got {n}")
    if method == "morris" and (levels < 2 or levels % 2):
        raise ScenarioError(f"--levels must be an even number of 2 or more, got {levels}")
    if method == "sobol" and prob["num_vars"] < 2:
        raise ScenarioError("--method sobol needs at least two parameters")
    if method == "sobol" and n & (n - 1):  # Saltelli's sample is a Sobol' sequence, balanced at powers of 2
        raise ScenarioError(f"--n must be a power of 2 for --method sobol, got {n}")
    if sample_seed < 0:
        raise ScenarioError(f"--sample-seed must be 0 or more, got {sample_seed}")
    size = n * (prob["num_vars"] + (1 if method == "morris" else 2))
    if size > MAX_POINTS:
        raise ScenarioError(f"the {method} design has {size:,} points (more than {MAX_POINTS:,})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns when N is not a power of 2 (convergence, not correctness)
        if method == "morris":
            sample = morris_sample.sample(prob, n, num_levels=levels, seed=sample_seed)
        else:
            sample = sobol_sample.sample(prob, n, calc_second_order=False, seed=sample_seed)
    points = pd.DataFrame({"point": np.arange(len(sample), dtype=np.int64)})
    for j, name in enumerate(prob["names"]):
        kind = param_type(base, name)
        col = sample[:, j]
        points[name] = np.rint(col).astype(np.int64) if kind is int else col.astype(float)
    spec = {"method": method, "parameters": [{"name": nm, "min": b[0], "max": b[1]}
                                             for nm, b in zip(prob["names"], prob["bounds"], strict=True)],
            "n": n, "sample_seed": sample_seed}
    if method == "morris":
        spec["levels"] = levels
    return Design(method, points, spec, sample=sample, problem=prob)
