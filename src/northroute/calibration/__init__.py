"""Calibration of assumption parameters to the thesis's recorded series (ABC-SMC with pyabc)."""

from northroute.calibration.abc import DEFAULT_PARAMS, Calibration, calibrate, fit, scenario_toml
from northroute.calibration.targets import TARGETS, distance, statistics

__all__ = ["DEFAULT_PARAMS", "TARGETS", "Calibration", "calibrate", "distance", "fit", "scenario_toml", "statistics"]
