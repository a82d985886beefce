"""The one period type of the processes' wire format: a year or an inclusive range of years.

A request may write a period as ``"2000/2004"``, ``[2000, 2004]``, ``"2018"`` or ``2018``; every one
becomes a frozen ``Period`` inside, and goes back on the wire (the job table, the lineage) as
``"2000/2004"`` or ``"2018"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema

__all__ = ["Period", "YearPeriod", "norm_period", "period_input"]

_TEXT = re.compile(r"^(\d{4})(?:/(\d{4}))?$")
_FIRST_YEAR, _LAST_YEAR = 1000, 9999


@dataclass(frozen=True, order=True)
class Period:
    """Every year from ``first`` to ``last``, both included."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period {self} ends before it starts")

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}/{self.last}"

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first, self.last + 1))

    @property
    def sdmx(self) -> str:
        """The period as SDMX ``TIME_PERIOD``: ``2000-2004`` or ``2018``."""
        return str(self).replace("/", "-")

    @property
    def time(self) -> tuple[str, str]:
        """The period as a cube time range (first year to last year, inclusive)."""
        return str(self.first), str(self.last)

    def __contains__(self, year: object) -> bool:
        return isinstance(year, int) and self.first <= year <= self.last

    @classmethod
    def spanning(cls, periods: Iterable[Period]) -> Period:
        """The smallest period holding every one of ``periods``."""
        periods = list(periods)
        return cls(min(p.first for p in periods), max(p.last for p in periods))


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        # pydantic reports only ValueError as the input's fault, so not TypeError here.
        raise ValueError(f"a year must be a whole number, not {value!r}")
    if not _FIRST_YEAR <= value <= _LAST_YEAR:
        raise ValueError(f"year {value} is not a four-digit year")
    return value


def norm_period(value: Any) -> Period:
    """A Period from ``"2000/2004"``, ``[2000, 2004]``, ``"2018"``, ``2018`` or a Period."""
    if isinstance(value, Period):
        return value
    if isinstance(value, str):
        match = _TEXT.match(value.strip())
        if match is None:
            raise ValueError(f"period {value!r} is not a year '2018' or years 'first/last'")
        first, last = match.groups()
        return Period(int(first), int(last or first))
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"period {list(value)} must be [first year, last year]")
        return Period(_year(value[0]), _year(value[1]))
    return Period(_year(value), _year(value))


_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^\d{4}(/\d{4})?$"},
        {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        {"type": "integer"},
    ]
}

YearPeriod = Annotated[
    Period,
    PlainValidator(norm_period),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(_SCHEMA),
]
"""A process input holding a period, in any of the wire forms ``norm_period`` accepts."""


def period_input(default: str | None, description: str) -> Any:
    """A ``YearPeriod`` field whose default is written (and published) in the wire form."""
    return Field(default, description=description, validate_default=default is not None)
