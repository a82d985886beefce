"""The one period type: every wire form it accepts, what it refuses (naming the value), its schema."""

from __future__ import annotations

import pickle
from typing import Any, ClassVar

import pytest

from sdgcube.errors import InvalidRequest
from sdgcube.processes.base import CubeProcessor, ProcessInputs, describe
from sdgcube.processes.periods import Period, YearPeriod, norm_period, period_input


class _Inputs(ProcessInputs):
    period: YearPeriod = period_input("2000/2004", "Some years")
    other: YearPeriod | None = period_input(None, "Maybe some years")


class _Process(CubeProcessor):
    process_id, title, description = "p", "P", "A process with periods"
    Inputs = _Inputs
    outputs: ClassVar[dict[str, Any]] = {}
    example: ClassVar[dict[str, Any]] = {}


@pytest.mark.parametrize(
    ("wire", "first", "last", "text"),
    [("2000/2004", 2000, 2004, "2000/2004"), ([2000, 2004], 2000, 2004, "2000/2004"),
     ((2016, 2019), 2016, 2019, "2016/2019"), ("2018", 2018, 2018, "2018"), (2018, 2018, 2018, "2018"),
     (" 2018/2018 ", 2018, 2018, "2018"), ([2018, 2018], 2018, 2018, "2018")],
)  # fmt: skip
def test_every_wire_form_is_one_period(wire, first, last, text):
    inputs = _Inputs.model_validate({"period": wire})
    assert inputs.period == Period(first, last) and str(inputs.period) == text
    assert inputs.model_dump(mode="json")["period"] == text
    assert (
        _Inputs.model_validate(inputs.model_dump(mode="json")) == inputs
    )  # the job table round trip
    assert pickle.loads(pickle.dumps(inputs)) == inputs  # what travels to a Dask worker


@pytest.mark.parametrize(
    ("wire", "message"),
    [("2004/2000", "period 2004/2000 ends before it starts"), ([2004, 2000], "ends before it starts"),
     ("20", "period '20' is not a year"), ("2000-2004", "period '2000-2004' is not a year"),
     ([2000, 2001, 2002], r"period \[2000, 2001, 2002\] must be \[first year, last year\]"),
     ([2000, "x"], "a year must be a whole number, not 'x'"), (True, "not True"), (2018.5, "not 2018.5"),
     (99, "year 99 is not a four-digit year"), ({"first": 2000}, "not {'first': 2000}")],
)  # fmt: skip
def test_refusals_name_the_value_and_the_input(wire, message):
    with pytest.raises(InvalidRequest, match=f"input 'period': .*{message}"):
        _Process({"name": "p"}).parse({"period": wire})


def test_years_and_forms():
    period = norm_period("2000/2004")
    assert period.years == (2000, 2001, 2002, 2003, 2004) and Period(2018, 2018).years == (2018,)
    assert period.sdmx == "2000-2004" and period.time == ("2000", "2004")
    assert 2000 in period and 2004 in period and 1999 not in period and 2005 not in period
    assert Period.spanning([Period(2010, 2012), Period(2000, 2004)]) == Period(2000, 2012)


def test_the_description_offers_every_form_and_the_default():
    inputs = describe(_Process)["inputs"]
    forms = [{"type": "string", "pattern": "^\\d{4}(/\\d{4})?$"},
             {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2}, {"type": "integer"}]  # fmt: skip
    assert inputs["period"]["schema"] == {"oneOf": forms, "default": "2000/2004"}
    assert inputs["period"]["description"] == "Some years" and inputs["period"]["minOccurs"] == 0
    assert inputs["other"]["schema"] == {"oneOf": forms, "default": None}
    assert _Inputs().period == Period(2000, 2004) and _Inputs().other is None
