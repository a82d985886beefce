"""The policy file: roles, what each may read, run and administer, and their quotas.

YAML, validated with pydantic at the edge and kept as frozen values inside::

    roles:
      public:
        read: ["sr_*", "land_cover"]        # collection names, shell patterns
        quotas: {requests_per_minute: {default: 120, tiles: 1200}}
      analyst:
        read: ["*"]
        execute: ["*"]                      # process ids
        quotas: {concurrent_jobs: 2, job_pixels_per_day: 20_000_000_000, max_job_area_km2: 20_000}
      admin: {read: ["*"], execute: ["*"], admin: true}
    anonymous_role: anonymous               # callers who send no credentials
    users:                                  # per-user quota overrides
      alice: {quotas: {concurrent_jobs: 5}}

A job's results are not covered by ``read``: they are visible to the job's owner, the groups it
is shared with and admins, and to everyone once made public (`JobRecord.visible_to`).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sdgcube.errors import ConfigError

__all__ = ["DEFAULT_POLICY", "FAMILIES", "Policy", "Quotas", "Role", "load_policy"]

DEFAULT_POLICY = Path(__file__).with_name("default_policy.yaml")
Family = Literal[
    "meta", "collections", "coverages", "edr", "features", "tiles", "maps", "stac",
    "processes", "execution", "jobs", "admin",
]  # fmt: skip
FAMILIES: tuple[Family, ...] = Family.__args__  # type: ignore[attr-defined]
"""Route families: what rate limits are counted per, and what the policy is enforced per."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuotasFile(_Strict):
    concurrent_jobs: int | None = Field(None, ge=0, description="Jobs queued or running at once")
    job_pixels_per_day: int | None = Field(
        None, ge=0, description="Pixel values (pixels × time slices) read by jobs in 24 hours"
    )
    max_job_area_km2: float | None = Field(None, gt=0, description="Largest area of one job")
    requests_per_minute: dict[str, int] = Field(
        default_factory=dict,
        description="Requests per minute by route family; ``default`` for families not named",
    )

    @model_validator(mode="after")
    def _known_families(self) -> QuotasFile:
        unknown = sorted(set(self.requests_per_minute) - {*FAMILIES, "default"})
        if unknown:
            raise ValueError(f"unknown route families {unknown}: use {['default', *FAMILIES]}")
        return self


class RoleFile(_Strict):
    read: list[str] = Field(default_factory=list)
    execute: list[str] = Field(default_factory=list)
    admin: bool = False
    quotas: QuotasFile = Field(default_factory=QuotasFile)


class UserFile(_Strict):
    quotas: QuotasFile = Field(default_factory=QuotasFile)


class PolicyFile(_Strict):
    roles: dict[str, RoleFile]
    anonymous_role: str = "anonymous"
    users: dict[str, UserFile] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _anonymous_is_a_role(self) -> PolicyFile:
        if self.anonymous_role not in self.roles:
            raise ValueError(f"anonymous_role {self.anonymous_role!r} is not one of the roles")
        return self


@dataclass(frozen=True)
class Quotas:
    """None: no limit of that kind."""

    concurrent_jobs: int | None = None
    job_pixels_per_day: int | None = None
    max_job_area_km2: float | None = None
    requests_per_minute: MappingProxyType[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def per_minute(self, family: str) -> int | None:
        """The rate limit of a route family: its own, else the role's ``default``, else none. The
        ``meta`` family (landing page, API documents, static assets, sign-in) is counted only when
        named: a page and its assets must not use up a caller's requests."""
        default = None if family == "meta" else self.requests_per_minute.get("default")
        return self.requests_per_minute.get(family, default)

    def overridden(self, other: QuotasFile) -> Quotas:
        """These quotas with what ``other`` sets replacing them."""
        rates = {**self.requests_per_minute, **other.requests_per_minute}
        values = other.model_dump(exclude_none=True, exclude={"requests_per_minute"})
        return replace(self, **values, requests_per_minute=MappingProxyType(rates))


@dataclass(frozen=True)
class Role:
    name: str
    read: tuple[str, ...] = ()
    execute: tuple[str, ...] = ()
    admin: bool = False
    quotas: Quotas = field(default_factory=Quotas)

    def may_read(self, collection: str) -> bool:
        return self.admin or any(fnmatch.fnmatchcase(collection, p) for p in self.read)

    def may_execute(self, process_id: str) -> bool:
        return self.admin or any(fnmatch.fnmatchcase(process_id, p) for p in self.execute)


@dataclass(frozen=True)
class Policy:
    roles: MappingProxyType[str, Role]
    anonymous_role: str
    user_quotas: MappingProxyType[str, QuotasFile]

    def role(self, name: str) -> Role:
        """A role the policy defines; an unknown one (a key made under an older policy, a claim
        the issuer added) may do no more than an anonymous caller."""
        return self.roles.get(name) or self.roles[self.anonymous_role]

    def quotas(self, user: str, role: str) -> Quotas:
        """The role's quotas, with the user's own overrides."""
        base = self.role(role).quotas
        own = self.user_quotas.get(user)
        return base.overridden(own) if own is not None else base


def _role(name: str, spec: RoleFile) -> Role:
    quotas = Quotas().overridden(spec.quotas)
    return Role(name, tuple(spec.read), tuple(spec.execute), spec.admin, quotas)


def load_policy(path: Path | None) -> Policy:
    """The policy in ``path`` (the built-in one when None); ConfigError says what is wrong."""
    path = path or DEFAULT_POLICY
    try:
        spec = PolicyFile.model_validate(yaml.safe_load(path.read_text()))
    except OSError as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"the policy file {path} is not YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"the policy file {path}: {where}: {first['msg']}") from None
    roles = {name: _role(name, role) for name, role in spec.roles.items()}
    users = {name: user.quotas for name, user in spec.users.items()}
    return Policy(MappingProxyType(roles), spec.anonymous_role, MappingProxyType(users))
