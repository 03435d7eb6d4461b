"""The report page "what is evidence and what is assumption" (issue #6).

Every parameter's provenance says where its value comes from; those whose provenance begins with
"assumption" have no source, and a sourced rule may still have an assumed value. This page counts them, and
shows from the two shipped Morris screenings (`calibration/screening.csv`, `calibration/screening_enforcement.csv`)
which study outputs move most with assumed values, relative to the output's size, so a reader knows which results
lean on guesses.
"""

from __future__ import annotations

import html
from importlib import resources

import pandas as pd

from northroute.scenario import param_table

# The shipped screenings: file, Morris trajectories (--n), and what they cover (docs/studies.md)
SCREENINGS = (
    ("screening.csv", 24, "22 assumption parameters of supply, trafficking, prices, careers, relations, "
                          "policing (the force, Koknar, crackdowns) and corruption, over ranges chosen one by "
                          "one (<code>calibration/screening_ranges.toml</code>)"),
    ("screening_enforcement.csv", 10, "30 policing, corruption, justice and prison parameters whose value is "
                                      "assumed, each from half to twice its default "
                                      "(<code>calibration/enforcement_ranges.toml</code>, session 35)"),
)
SCREENING_TRAJECTORIES = SCREENINGS[0][1]  # the first screening, which calibrate's default set rests on


def provenance_kinds() -> pd.Series:
    """Parameters by kind of provenance (`scenario.provenance_kind`), most common first."""
    return pd.Series([r["kind"] for r in param_table()]).value_counts()


def screening(name: str = SCREENINGS[0][0]) -> pd.DataFrame:
    """One shipped screening's Morris indices, one row per output and parameter."""
    with resources.files("northroute").joinpath(f"calibration/{name}").open() as fh:
        return pd.read_csv(fh)


def screened_parameters() -> set[str]:
    """Every parameter either shipped screening covered."""
    return {p for name, _, _ in SCREENINGS for p in screening(name)["parameter"]}


def dependence() -> pd.DataFrame:
    """Per output and screening: relative Morris effect (mu* / mean output) of each screened parameter, largest
    first."""
    s = pd.concat([screening(name).assign(screening=name) for name, _, _ in SCREENINGS], ignore_index=True)
    s = s.assign(relative=s["mu_star"] / s["output_mean"].abs())
    return s.sort_values(["output", "relative"], ascending=[True, False])


def parts() -> list[str]:
    kinds = provenance_kinds()
    dep = dependence()
    names = [name for name, _, _ in SCREENINGS]
    rows = []
    for output, g in dep.groupby("output", sort=False):
        sums = [g.loc[g["screening"] == name, "relative"].sum() for name in names]
        top = g.sort_values("relative", ascending=False).head(4)
        cells = "; ".join(f"<code>{html.escape(r.parameter)}</code> {r.relative:.0%}" for r in top.itertuples())
        rows.append((max(sums), f"<tr><td><code>{html.escape(output)}</code></td>"
                     + "".join(f"<td>{v:.0%}</td>" for v in sums) + f"<td>{cells}</td></tr>"))
    rows.sort(key=lambda r: -r[0])
    total = int(kinds.sum())
    counts = ", ".join(f"{int(n)} {html.escape(k)}" for k, n in kinds.items())
    n_params = [dep.loc[dep["screening"] == name, "parameter"].nunique() for name in names]
    described = "; ".join(
        f"({k + 1}) {about}, {n} Morris trajectories, {n * (n_params[k] + 1)} runs"
        for k, (_, n, about) in enumerate(SCREENINGS))
    return [
        "<h2>What is evidence and what is assumption</h2>\n<p class='note'>Of the model's "
        f"{total} parameters: {counts} (provenance as listed by <code>northroute params</code>). Below, how much "
        "each screened output moves with the screened parameters (those whose value is an assumption, outright "
        "or for a sourced rule): the Morris effect mu* (the mean absolute elementary effect: the change of the "
        "output per whole screened range of the parameter, as SALib scales each range to [0, 1]) divided by the "
        "output's mean, summed over each screening's parameters, and for the four largest of either (a sum of "
        "100%: moving each parameter across its whole range moves the output, on average, by amounts that add "
        "up to its mean). From the two screenings shipped with the package (anticorruption-2015, scale 0.05, "
        f"2012-2017): {described}; not from this run. The two used different ranges, so their effects compare "
        "only roughly; outputs and parameters not screened are not covered, and with so few trajectories the "
        "order of effects of similar size is rough.</p>",
        "<table><thead><tr><th>output</th>"
        + "".join(f"<th>sum of relative mu*, screening {k + 1} ({n_params[k]} parameters)</th>"
                  for k in range(len(names)))
        + "<th>largest effects of screened parameters</th></tr>"
        f"</thead><tbody>{''.join(r for _, r in rows)}</tbody></table>",
    ]
