"""Studies at scale: replications, parameter sweeps and global sensitivity analysis, locally or on Dask.

    from northroute.experiments import plan_sweep, run_study, Study
    plan = plan_sweep("baseline-2012", ["market.adulteration=0:0.4:0.1"], seeds=10)
    study, session = run_study(plan, "studies/adulteration")          # or scheduler="tcp://host:8786"
    Study.open("studies/adulteration").connect().sql("SELECT * FROM outputs").df()

Designs come from SALib, the cluster from Dask distributed, the local pool from concurrent.futures;
see docs/studies.md.
"""

from __future__ import annotations

from northroute.experiments.outputs import OUTPUTS
from northroute.experiments.runner import RunTask, run_one
from northroute.experiments.store import Study, StudyError
from northroute.experiments.study import Plan, plan_sensitivity, plan_sweep, run_study

__all__ = ["OUTPUTS", "Plan", "RunTask", "Study", "StudyError", "plan_sensitivity", "plan_sweep", "run_one",
           "run_study"]
