"""One typed settings object for the whole of sdgcube.

Sources, highest priority first: keyword arguments, environment variables (``SDGCUBE_`` prefix,
``__`` for nested fields such as ``SDGCUBE_LIMITS__MAX_PIXELS``), then a YAML file — the one named by
``SDGCUBE_CONFIG``, else ``sdgcube.yaml`` in the working directory if present.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

__all__ = [
    "AuthSettings", "Limits", "OidcSettings", "ServerMetadata", "Settings", "config_file", "masked_config",
]  # fmt: skip


def default_data_dir() -> Path:
    """The per-user data folder (``~/.local/share/sdgcube`` on Linux)."""
    return Path(platformdirs.user_data_dir("sdgcube", appauthor=False))


def config_file() -> Path | None:
    """The YAML file settings are read from, if any."""
    named = os.environ.get("SDGCUBE_CONFIG")
    if named:
        return Path(named)
    local = Path("sdgcube.yaml")
    return local if local.exists() else None


class Limits(BaseModel):
    """Server-side limits that protect the server from requests that are too large."""

    model_config = ConfigDict(frozen=True)

    max_pixels: int = Field(
        25_000_000, gt=0, description="Most pixels one coverage or tile request may read"
    )
    max_job_area_km2: float = Field(
        50_000.0, gt=0, description="Largest area, in km², that one processing job may cover"
    )
    max_job_pixels: int = Field(
        2_000_000_000, gt=0, description="Most pixel values (pixels × time slices) one job may read"
    )
    concurrent_renders: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        gt=0,
        description="Map renders (tiles, WMS images) one web worker runs at once; further requests "
        "wait their turn in arrival order (default: the number of CPUs)",
    )


AuthMethod = Literal["anonymous", "keys", "oidc"]
LOOPBACK = ("127.0.0.1", "::1", "localhost")


class OidcSettings(BaseModel):
    """An OpenID Connect issuer whose bearer tokens (JWTs) identify callers."""

    model_config = ConfigDict(frozen=True)

    issuer: str | None = Field(None, description="The issuer URL (its ``iss`` claim, exactly)")
    audience: str | None = Field(None, description="The ``aud`` a token must carry")
    jwks_url: str | None = Field(
        None, description="Where the issuer's signing keys are; unset: from its discovery document"
    )
    algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256"], description="Signature algorithms accepted"
    )
    clock_skew_s: float = Field(60.0, ge=0, description="Leeway for ``exp``, ``nbf`` and ``iat``")
    user_claim: str = Field("sub", description="The claim naming the user")
    roles_claim: str = Field(
        "roles",
        description="The claim listing the user's roles; dots reach into objects "
        "(``realm_access.roles`` for Keycloak)",
    )
    groups_claim: str = Field("groups", description="The claim listing the user's groups")
    client_id: str | None = Field(None, description="This server's client id, for browser sign-in")
    client_secret: SecretStr | None = Field(
        None, description="The client secret, if the issuer gave this server one"
    )
    scopes: str = Field("openid profile", description="Scopes asked for at browser sign-in")


class AuthSettings(BaseModel):
    """Who may call the server, and how they say who they are."""

    model_config = ConfigDict(frozen=True)

    mode: Annotated[tuple[AuthMethod, ...], NoDecode] = Field(
        ("anonymous",),
        description="``anonymous`` (nobody signs in, everything is open), or ``keys`` and/or "
        "``oidc`` (comma-separated): callers are identified and the policy applies",
    )
    policy_file: Path | None = Field(
        None, description="The YAML policy (roles, access, quotas); unset: the built-in one"
    )
    key_query_parameter: bool = Field(
        True,
        description="Accept an API key as ``?api_key=`` on tile and map routes, for clients that "
        "cannot send headers",
    )
    session_hours: float = Field(12.0, gt=0, description="How long a browser session lasts")
    oidc: OidcSettings = Field(default_factory=OidcSettings)

    @field_validator("mode", mode="before")
    @classmethod
    def _split_mode(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.replace("+", ",").split(",") if part.strip()]
        if not value:
            raise ValueError("mode names no authentication method")
        if "anonymous" in value and len(set(value)) > 1:
            raise ValueError("anonymous means nobody signs in: it cannot be on with keys or oidc")
        return tuple(dict.fromkeys(value))

    @property
    def open(self) -> bool:
        """Nobody signs in: every caller may do everything (the behaviour before accounts)."""
        return self.mode == ("anonymous",)


class ServerMetadata(BaseModel):
    """Who runs this server and under which terms: the landing page, the OpenAPI document and
    every HTML page show it (pygeoapi's ``metadata`` block is made from it)."""

    model_config = ConfigDict(frozen=True)

    title: str = Field("sdgcube", description="The service's name, at the top of every page")
    description: str = Field(
        "Big Earth Data for the UN Sustainable Development Goals: the imagery and indicator results "
        "of an Open Data Cube as OGC API coverages, features, EDR, records and processes.",
        description="What the service offers, on the landing page",
    )
    keywords: Annotated[tuple[str, ...], NoDecode] = Field(
        ("SDG", "earth observation", "datacube", "land degradation", "water", "forest", "urban"),
        description="Keywords (comma-separated in the environment)",
    )
    url: str = Field(
        "https://github.com/sdgcube/sdgcube", description="A page about the service or its operator"
    )
    terms_of_service: str = Field(
        "https://creativecommons.org/licenses/by/4.0/",
        description="The terms of use (a URL or text)",
    )
    license_name: str = Field("CC-BY 4.0 license", description="The data's license")
    license_url: str = Field(
        "https://creativecommons.org/licenses/by/4.0/", description="The license's text"
    )
    provider_name: str = Field("sdgcube", description="The organisation that provides the data")
    provider_url: str = Field(
        "https://github.com/sdgcube/sdgcube", description="The provider's web site"
    )
    contact_name: str = Field("sdgcube operator", description="The contact point's name")
    contact_position: str = Field("Operator", description="The contact's position")
    contact_email: str = Field(
        "", description="The contact's e-mail address (the pages' Contact link)"
    )
    contact_phone: str = Field("", description="The contact's telephone number")
    contact_url: str = Field("", description="A contact page")
    contact_address: str = Field("", description="Postal address: street")
    contact_city: str = Field("", description="Postal address: city")
    contact_country: str = Field("", description="Postal address: country")

    @field_validator("keywords", mode="before")
    @classmethod
    def _split_keywords(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class Settings(BaseSettings):
    """The effective configuration of one sdgcube installation."""

    model_config = SettingsConfigDict(
        env_prefix="SDGCUBE_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Archive, embedded index, caches and results live under this folder",
    )
    db_url: SecretStr | None = Field(
        None,
        description="PostgreSQL + PostGIS URL for the index; unset means the embedded PostgreSQL",
    )
    dask_address: str | None = Field(
        None, description="Address of a Dask scheduler; unset means a local cluster"
    )
    host: str = Field("127.0.0.1", description="Address the server listens on")
    port: int = Field(5000, ge=1, le=65535, description="Port the server listens on")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"],
        description="Origins whose pages may read GET/HEAD responses; CORS never allows writes",
    )
    public_url: str | None = Field(
        None,
        description="URL clients reach the server at (behind a proxy); http://host:port if unset",
    )
    limits: Limits = Field(default_factory=Limits)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    metadata: ServerMetadata = Field(default_factory=ServerMetadata)
    max_body_bytes: int = Field(10_000_000, gt=0, description="Largest request body accepted (413)")
    max_json_depth: int = Field(
        64, gt=0, description="Deepest JSON nesting a request body may have"
    )
    watch_interval_s: float = Field(
        2.0,
        gt=0,
        description="How often a running server looks for new products, results and layers",
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = config_file()
        if path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @property
    def base_url(self) -> str:
        """The server's public URL, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def on_loopback(self) -> bool:
        """Only this machine can reach the server."""
        return self.host in LOOPBACK

    @property
    def archive_dir(self) -> Path:
        """COGs and STAC items of everything ingested or generated."""
        return self.data_dir / "archive"

    @property
    def embedded_pgdata(self) -> Path:
        """PGDATA of the embedded PostgreSQL."""
        return self.data_dir / "index" / "pgdata"


def _mask_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def masked_config(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, with passwords replaced by ``***``."""
    data = settings.model_dump(mode="json")
    if settings.db_url is not None:
        data["db_url"] = _mask_url(settings.db_url.get_secret_value())
    else:
        data["db_url"] = None
    path = config_file()
    data["config_file"] = str(path) if path else None
    return data
