"""Scenarios are validated at the door: clear one-line errors, ranges, provenance."""

from __future__ import annotations

import pytest

import northroute as nr
from northroute.scenario import (
    ScenarioError,
    builtin_names,
    changed_later,
    file_values,
    load_scenario,
    param_table,
    steps_outside_run,
)
from tests.helpers import cli, one_line_error


def test_builtins_load():
    names = builtin_names()
    assert "baseline-2012" in names
    for name in names:
        scen = nr.load_scenario(name)
        assert scen.name == name
        assert scen.description


def test_extends_inherits_and_overrides():
    scen = nr.load_scenario("no-greenhouse")
    base = nr.load_scenario("baseline-2012")
    assert scen.supply.greenhouse_kg_per_year == 0
    assert scen.supply.heroin_kg_per_year == base.supply.heroin_kg_per_year


def test_override_sets_value():
    scen = nr.load_scenario("baseline-2012", ["market.adulteration=0.2", "time.years=3"])
    assert scen.market.adulteration == 0.2
    assert scen.weeks == 157


@pytest.mark.parametrize("override, fragment", [
    ("market.adulteration=1.5", "market.adulteration"),
    ("market.nonsense=1", "unknown parameter 'market.nonsense'"),
    ("nosuch.field=1", "unknown parameter 'nosuch.field'"),
    ("market.adulteration", "section.field=value"),
    ("population.scale=0", "population.scale"),
])
def test_bad_overrides(override, fragment):
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario("baseline-2012", [override])
    msg = str(exc.value)
    assert fragment in msg
    assert "\n" not in msg


def test_unknown_scenario():
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'"):
        nr.load_scenario("nope")


def test_an_unknown_parent_is_named_as_written(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('extends = "baseline-2099"\n')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f)
    assert str(exc.value) == (f"unknown scenario 'baseline-2099' (did you mean 'baseline-2012'?) (not a built-in: "
                              f"northroute scenarios lists them; nor a file next to {f})")


def test_a_mistyped_builtin_scenario_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"unknown scenario 'soft-threshold' \(did you mean 'soft-thresholds'\?\)"):
        nr.load_scenario("soft-threshold")
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario("nope")
    assert "did you mean" not in str(exc.value)


def test_bad_toml(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n[market\n")
    with pytest.raises(ScenarioError, match="bad TOML"):
        nr.load_scenario(bad)


def test_unknown_field_in_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('extends = "baseline-2012"\n[market]\nadulteraton = 0.1\n')
    with pytest.raises(ScenarioError, match=r"s.toml: unknown parameter 'market.adulteraton' \(did you mean "
                                            r"'market.adulteration'\?\)$"):
        nr.load_scenario(f)


@pytest.mark.parametrize(("key", "hint"), [
    ("market.adulteraton", "market.adulteration"),  # a typo
    ("policing.drug_officer", "policing.drug_officers"),
    ("adulteration", "market.adulteration"),  # the section left out
    ("justice.drug_officers", "policing.drug_officers"),  # the wrong section
    ("market.nope", None),  # nothing close: no guess
])
def test_an_unknown_parameter_names_the_closest_one(key, hint):
    with pytest.raises(ScenarioError) as err:
        nr.load_scenario("baseline-2012", [f"{key}=1"])
    assert str(err.value).startswith(f"unknown parameter '{key}'")
    assert (f"(did you mean '{hint}'?)" in str(err.value)) if hint else "did you mean" not in str(err.value)


def test_file_extends_file(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "baseline-2012"\nname = "a"\n[market]\nadulteration = 0.1\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\nname = "b"\n[market]\npool_share = 0.5\n')
    scen = nr.load_scenario(tmp_path / "b.toml")
    assert (scen.name, scen.market.adulteration, scen.market.pool_share) == ("b", 0.1, 0.5)


def test_timeline_checked(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('extends = "baseline-2012"\n[[timeline]]\ndate = 2015-01-01\nset = {"market.adulteration" = 3}\n')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f)
    # the step's date and the value as written, not the Python repr of the whole timeline
    assert str(exc.value) == (f"scenario {f}: timeline 2015-01-01: market.adulteration: Input should be less than "
                              "or equal to 0.8 (got 3)")


def test_a_bad_timeline_date_is_named_without_the_inherited_steps_index(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('extends = "anticorruption-2015"\n[[timeline]]\ndate = 2016\nset = {"market.adulteration" = 0.3}\n')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f)
    assert str(exc.value) == f"scenario {f}: timeline date: a step's date must be a date such as 2016-01-04 (got 2016)"


@pytest.mark.parametrize("text, got", [
    ("[time]\nstart = 2012-01-03\n", "(got 2012-01-03)"),
    ("[[timeline]]\ndate = 2014-01-01T10:00:00\nset = { market.adulteration = 0.2 }\n", "(got 2014-01-01T10:00:00)"),
    ('[market]\nadulteration = "x"\n', "(got 'x')"),
])
def test_errors_show_values_as_written_not_python_reprs(tmp_path, text, got):
    f = tmp_path / "t.toml"
    f.write_text(f'extends = "baseline-2012"\n{text}')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f)
    assert str(exc.value).endswith(got) and "datetime" not in str(exc.value)


def test_timeline_steps_that_change_a_given_value_or_never_act_are_named():
    """A step acts in the first week starting on or after its date: one dated after the last week's Monday never
    does, and a --set (or varied) value holds only until a step that acts changes it."""
    scen = nr.load_scenario("anticorruption-2015", ["time.years=2.1"])  # 110 weeks: the last starts 2014-02-03
    assert steps_outside_run(scen) == ["the run's last week starts on 2014-02-03: the timeline steps of 2015-01-05, "
                                     "2017-07-03, 2019-04-01, 2019-07-01 are not applied"]
    assert changed_later(scen, ["anticorruption.detect_rate", "anticorruption.chill", "market.adulteration"]) == [
        "the value given for anticorruption.detect_rate holds only until the timeline of anticorruption-2015 changes "
        "it on 2014-01-06"]
    assert steps_outside_run(nr.load_scenario("anticorruption-2015")) == []
    one_day_late = nr.load_scenario("anticorruption-2015", ["time.years=0.1"])  # 5 weeks, the last from 2012-01-30
    one_day_late.timeline[0].date = one_day_late.timeline[0].date.replace(year=2012, month=1, day=31)
    assert "timeline steps of 2012-01-31," in steps_outside_run(one_day_late)[0]
    early = nr.load_scenario("anticorruption-2015")  # a step before the start acts from week 0: likely a typo
    early.timeline[0].date = early.timeline[0].date.replace(year=2005, month=1, day=3)
    assert steps_outside_run(early) == ["the run starts on 2012-01-02: the timeline steps of 2005-01-03 apply from "
                                        "its first week"]


def test_every_parameter_has_unit_range_and_provenance():
    rows = param_table()
    assert len(rows) > 50
    for r in rows:
        assert r["provenance"], r["name"]
        assert r["unit"], r["name"]
        assert r["description"], r["name"]
        if isinstance(r["default"], (int, float)) and not isinstance(r["default"], bool):
            assert r["min"] is not None and r["max"] is not None, r["name"]
            assert r["min"] <= r["default"] <= r["max"], r["name"]


@pytest.mark.parametrize("step", ["", "set = {}\n", 'note = "only a note"\n'])
def test_a_timeline_step_that_sets_nothing_is_refused(tmp_path, step):
    f = tmp_path / "t.toml"
    f.write_text(f'extends = "baseline-2012"\n[[timeline]]\ndate = 2014-01-06\n{step}')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f)
    assert str(exc.value) == f'scenario {f}: timeline 2014-01-06: a step needs set = {{ "section.field" = value, ... }}'


def test_timeline_refuses_start_only_parameters(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text('extends = "baseline-2012"\n[[timeline]]\ndate = 2015-01-01\nset = {"population.scale" = 0.5}\n')
    with pytest.raises(ScenarioError, match="only sets up the start"):
        nr.load_scenario(f)


def test_timeline_reads_toml_dotted_keys_and_cycles_are_found_by_path(tmp_path):
    f = tmp_path / "d.toml"
    f.write_text('extends = "baseline-2012"\n[[timeline]]\ndate = 2013-01-07\nset = { market.adulteration = 0.3 }\n')
    assert nr.load_scenario(f).timeline[-1].set == {"market.adulteration": 0.3}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "self.toml").write_text('extends = "../sub/self.toml"\n')
    with pytest.raises(ScenarioError, match="extends itself"):
        nr.load_scenario(tmp_path / "sub" / "self.toml")


@pytest.mark.parametrize("key", ["corruption.norm_cost", "prison.release_income_share"])
def test_draw_once_parameters_cannot_change_on_a_timeline(tmp_path, key):
    """Values drawn or applied once per person or officer would reach only newcomers (ODD limitation 12)."""
    f = tmp_path / "t.toml"
    f.write_text(f'extends = "baseline-2012"\n[[timeline]]\ndate = 2015-01-05\nset = {{"{key}" = 0.5}}\n')
    with pytest.raises(ScenarioError, match="only sets up the start"):
        nr.load_scenario(f)


def test_integer_parameters_are_known_from_the_schema() -> None:
    from northroute.calibration.abc import as_run
    from northroute.experiments.designs import param_type
    from northroute.scenario import is_integer

    assert is_integer("trafficking.split_parts") and not is_integer("supply.heroin_kg_per_year")
    assert param_type(nr.load_scenario(), "supply.heroin_kg_per_year") is float  # its default is written 35000
    assert as_run({"trafficking.split_parts": 3.26, "market.adulteration": 0.26}) == {
        "trafficking.split_parts": 3, "market.adulteration": 0.26}


def test_file_values_lay_a_files_values_on_any_scenario(tmp_path) -> None:
    """A calibrated file's values, read as overrides, give the same values on another scenario; files that are
    not values alone are refused in one line."""
    path = tmp_path / "cal.toml"
    path.write_text('name = "c"\ndescription = "d"\nextends = "anticorruption-2015"\n[market]\n'
                    'trafficker_markup = 1.51641234567891\n[supply]\nheroin_kg_per_year = 34817.8\n'
                    '[anticorruption]\nbribery_charge = true\n')
    sets = file_values(path)
    assert sets == ["market.trafficker_markup=1.51641234567891", "supply.heroin_kg_per_year=34817.8",
                    "anticorruption.bribery_charge=true"]
    scen = load_scenario("baseline-2012", sets)
    assert (scen.market.trafficker_markup, scen.supply.heroin_kg_per_year) == (1.51641234567891, 34817.8)
    assert scen.anticorruption.bribery_charge is True
    with pytest.raises(ScenarioError, match="has a timeline: --values takes a file of parameter values only"):
        file_values("anticorruption-2015")
    child = tmp_path / "child.toml"  # a file that extends a file of values: the parent's first, its own win
    child.write_text('name = "k"\nextends = "cal.toml"\n[market]\ntrafficker_markup = 2.0\n')
    assert file_values(child) == [*sets, "market.trafficker_markup=2.0"]
    assert load_scenario("baseline-2012", file_values(child)).market.trafficker_markup == 2.0
    child.write_text('name = "k"\nextends = "child.toml"\n[market]\nretail_markup = 3.0\n')
    with pytest.raises(ScenarioError, match="extends itself"):
        file_values(child)
    path.write_text('name = "c"\nmarket = 3\n')
    with pytest.raises(ScenarioError, match="'market' is not a section of parameters"):
        file_values(path)
    path.write_text('name = "c"\n[time]\nyears = 3\n')
    with pytest.raises(ScenarioError, match="sets time.*: --values takes parameter values, not the run's dates"):
        file_values(path)
    path.write_text('name = "c"\n')
    with pytest.raises(ScenarioError, match="sets no parameter values"):
        file_values(path)
    path.write_text('name = "c"\n[market]\nnosuch = 1\n')  # named with the file: it is laid on other scenarios later
    with pytest.raises(ScenarioError, match=r"cal\.toml: unknown parameter 'market\.nosuch'"):
        file_values(path)
    path.write_text('name = "c"\n[market]\nadulteration = 7\n')
    with pytest.raises(ScenarioError, match=r"cal\.toml: market\.adulteration: .* \(got 7\)"):
        file_values(path)
    one_line_error(cli("validate", "--values", "anticorruption-2015", "--out", str(tmp_path / "v")), "has a timeline")
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("where, text, message", [
    ("file", '[justice]\nwitness_protection = "yes"\n',
     "justice.witness_protection: expects true or false (got 'yes')"),
    ("file", "[justice]\nwitness_protection = 1\n", "justice.witness_protection: expects true or false (got 1)"),
    ("file", '[market]\nadulteration = "0.3"\n', "market.adulteration: expects a number, not text (got '0.3')"),
    ("file", "[policing]\nquota_per_month = true\n", "policing.quota_per_month: expects a number (got True)"),
    ("step", 'set = { "justice.witness_protection" = "on" }', "justice.witness_protection: expects true or false"),
    ("set", "justice.witness_protection=yes", "justice.witness_protection: expects true or false (got 'yes')"),
    ("set", 'market.adulteration="0.3"', "market.adulteration: expects a number, not text (got '0.3')"),
])
def test_quoted_or_mistyped_numbers_and_flags_are_refused(tmp_path, where, text, message):
    """pydantic alone reads "yes", "on" and 1 as true and "0.3" as 0.3, so a mistyped value would run as meant."""
    f = tmp_path / "t.toml"
    body = f"[[timeline]]\ndate = 2015-01-05\n{text}\n" if where == "step" else text if where == "file" else ""
    f.write_text(f'extends = "baseline-2012"\n{body}')
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario(f, [text] if where == "set" else [])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_numbers_and_flags_written_plainly_still_load() -> None:
    scen = nr.load_scenario("baseline-2012", ["justice.witness_protection=True", "market.adulteration=0",
                                              "policing.quota_per_month=2", "time.burn_in_weeks=4.0"])
    assert scen.justice.witness_protection is True and scen.market.adulteration == 0.0
    assert scen.policing.quota_per_month == 2.0 and scen.time.burn_in_weeks == 4


def test_a_key_with_a_date_sets_the_value_of_that_timeline_step() -> None:
    """`section.field@DATE` changes what the step of that date sets, or makes the step; the other steps and the
    start value stay as they were, and a later step that changes the same parameter is named."""
    from northroute.scenario import changed_later, override_value

    base = nr.load_scenario("anticorruption-2015")
    scen = nr.load_scenario("anticorruption-2015", ["anticorruption.detect_rate@2015-01-05=0.6",
                                                    "justice.witness_protection@2016-01-04=true"])
    steps = {str(ev.date): ev.set for ev in scen.timeline}
    assert steps["2015-01-05"] == {**{str(ev.date): ev.set for ev in base.timeline}["2015-01-05"],
                                   "anticorruption.detect_rate": 0.6}
    assert steps["2016-01-04"] == {"justice.witness_protection": True}
    assert [ev.date for ev in scen.timeline] == sorted(ev.date for ev in scen.timeline)
    assert len(scen.timeline) == len(base.timeline) + 1
    assert scen.anticorruption.detect_rate == base.anticorruption.detect_rate
    assert override_value(scen, "anticorruption.detect_rate@2015-01-05") == 0.6
    assert changed_later(scen, ["anticorruption.detect_rate@2015-01-05"]) == [
        "the value given for anticorruption.detect_rate@2015-01-05 holds only until the timeline of "
        "anticorruption-2015 changes it on 2017-07-03, 2019-04-01"]


@pytest.mark.parametrize("override, message", [
    ("anticorruption.detect_rate@2015-13-05=0.6", "after '@' comes a timeline step's date such as 2016-01-04, got "
                                                  "'2015-13-05'"),
    ("anticorruption.nope@2015-01-05=0.6", "unknown parameter 'anticorruption.nope'"),
    ("market.adulteration@2016-01-04=3", "market.adulteration@2016-01-04: Input should be less than or equal to 0.8 "
                                         "(got 3)"),
    ("policing.drug_officers@2016-01-04=10", "timeline 2016-01-04: 'policing.drug_officers' only sets up the start"),
])
def test_a_bad_dated_key_is_one_line(override, message) -> None:
    with pytest.raises(ScenarioError) as exc:
        nr.load_scenario("anticorruption-2015", [override])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_a_dated_key_sets_the_step_that_acts_when_two_steps_share_its_date() -> None:
    """`reform-upward` extends `anticorruption-2015` with a second step on 2015-01-05; the steps of a date act in
    order, so a dated key must set the last, or the other would override it and the design show a value the runs
    never used."""
    from northroute.scenario import apply_override, override_value

    key = "justice.witness_protection@2015-01-05"
    scen = nr.load_scenario("reform-upward", [f"{key}=false"])
    assert sum(str(ev.date) == "2015-01-05" for ev in scen.timeline) == 2
    acted = scen.model_copy(deep=True)
    for ev in scen.timeline:  # as the simulation applies them (sim._apply_timeline)
        if str(ev.date) <= "2015-01-05":
            for name, value in ev.set.items():
                acted = apply_override(acted, name, value)
    assert acted.justice.witness_protection is False and override_value(scen, key) is False
