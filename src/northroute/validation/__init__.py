"""Validation: the thesis's stylised facts as code, and the scorecard `northroute validate` prints."""

from northroute.validation.facts import BASELINE, FACTS, REFORM, Fact
from northroute.validation.scorecard import scorecard, scorecard_html, scorecard_json

__all__ = ["BASELINE", "FACTS", "REFORM", "Fact", "scorecard", "scorecard_html", "scorecard_json"]
