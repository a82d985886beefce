"""The contract every sdgcube process follows, and its OGC process description.

A process declares its inputs as one pydantic model; the same model validates a request and
generates the description that ``/processes/{id}`` publishes, so the two cannot drift apart.
``check`` turns the parsed inputs into a ``Plan`` while the request is still open: everything the
index decides (products, bands, datasets, the region) is resolved there, so a bad job is refused
with a 4xx instead of failing later, and the job runs the plan without asking the index again.

Two entry points: ``prepare(data, cube) -> Plan`` (parse + check, in the request) and
``run_plan(plan, ctx) -> ProcessResult`` (in the job, usually on a Dask worker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pygeoapi.process.base import BaseProcessor

from sdgcube.datacube.cube import Cube
from sdgcube.errors import ConfigError, InvalidRequest
from sdgcube.processes.context import JobContext, local_context
from sdgcube.processes.services import Services

__all__ = ["CubeProcessor", "Plan", "ProcessInputs", "ProcessResult", "describe"]


class ProcessInputs(BaseModel):
    """Base of every process's input model: unknown inputs are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Plan:
    """What a checked request resolves to; this, not the raw inputs, travels to the Dask worker.

    Processes extend it (a frozen subclass) with what their ``check`` resolved."""

    inputs: ProcessInputs
    """The parsed request, as the job table stores it (``model_dump(mode="json")``)."""

    # Every process's plan says what its job costs, so the job quotas can be checked (and the
    # job row can record it) before the job exists; a plan that cannot say is a defect.
    @property
    def pixel_values(self) -> int:
        """Pixel values the job reads: pixels × time slices of each read, summed over the reads
        (bands not counted), on the grid each is loaded on; what ``job_pixels_per_day`` counts."""
        raise NotImplementedError(
            f"{type(self).__name__} does not say how many pixel values it reads"
        )

    @property
    def area_km2(self) -> float:
        """The area the job covers, km² on the ellipsoid; what ``max_job_area_km2`` bounds."""
        raise NotImplementedError(f"{type(self).__name__} does not say what area it covers")


@dataclass(frozen=True)
class ProcessResult:
    """What a process returns: the document the job's results endpoint serves."""

    document: dict[str, Any]
    mimetype: str = "application/json"
    products: tuple[str, ...] = field(default=())
    """Products the process registered in the cube (the server publishes them as collections)."""


def _input_schema(prop: dict[str, Any]) -> dict[str, Any]:
    schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
    branches = schema.pop("anyOf", None)
    if branches:
        kept = [b for b in branches if b.get("type") != "null"]
        schema.update(kept[0] if len(kept) == 1 else {"oneOf": kept})
    return schema


def describe(processor: type[CubeProcessor]) -> dict[str, Any]:
    """The pygeoapi process metadata (OGC process description) generated from the input model."""
    schema = processor.Inputs.model_json_schema()
    required = set(schema.get("required", []))
    inputs = {
        name: {
            "title": prop.get("title", name),
            "description": prop.get("description", ""),
            "schema": _input_schema(prop),
            "minOccurs": 1 if name in required else 0,
            "maxOccurs": 1,
        }
        for name, prop in schema["properties"].items()
    }
    return {
        "version": processor.version,
        "id": processor.process_id,
        "title": {"en": processor.title},
        "description": {"en": processor.description},
        "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
        "keywords": list(processor.keywords),
        "links": [],
        "inputs": inputs,
        "outputs": processor.outputs,
        "example": {"inputs": processor.example},
    }


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "inputs"
        parts.append(f"input {where!r}: {error['msg']}")
    return "; ".join(parts)


class CubeProcessor(BaseProcessor):
    """A pygeoapi processor whose work runs against the cube, in a job or in the request."""

    process_id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    version: ClassVar[str] = "1.0.0"
    keywords: ClassVar[tuple[str, ...]] = ()
    Inputs: ClassVar[type[ProcessInputs]]
    outputs: ClassVar[dict[str, Any]]
    example: ClassVar[dict[str, Any]]

    def __init__(self, processor_def: dict[str, Any]) -> None:
        super().__init__(processor_def, describe(type(self)))
        self.services: Services | None = processor_def.get("services")
        """Given by the server's configuration; a processor built inside a job has none (the job's
        context carries them)."""

    def parse(self, data: dict[str, Any]) -> ProcessInputs:
        """Validate raw request inputs; InvalidRequest names each offending input."""
        try:
            return self.Inputs.model_validate(data)
        except ValidationError as exc:
            raise InvalidRequest(_validation_message(exc)) from None

    def check(self, inputs: ProcessInputs, cube: Cube) -> Plan:
        """Resolve the inputs against the index into a plan; refuse what cannot work (4xx)."""
        return Plan(inputs)

    def prepare(self, data: dict[str, Any], cube: Cube) -> Plan:
        """Parse and check a request; the plan it returns is what a job runs."""
        return self.check(self.parse(data), cube)

    def run_plan(self, plan: Plan, ctx: JobContext) -> ProcessResult:
        """Run a prepared plan (the job's entry point)."""
        raise NotImplementedError(f"{type(self).__name__} defines no run_plan")

    def execute(
        self, data: dict[str, Any], outputs: dict[str, Any] | None = None
    ) -> tuple[str, Any]:
        """pygeoapi's contract, for running a process outside any job."""
        if self.services is None:
            raise ConfigError(f"processor {self.process_id!r} was defined without services")
        with local_context(self.services) as ctx:
            result = self.run_plan(self.prepare(data, ctx.cube), ctx)
        return result.mimetype, result.document
