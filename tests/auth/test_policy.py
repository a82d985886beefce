"""The policy file: roles, patterns, quotas, per-user overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdgcube.auth.authenticator import choose_role
from sdgcube.auth.policy import load_policy
from sdgcube.errors import ConfigError

POLICY = """
anonymous_role: nobody
roles:
  nobody: {}
  reader:
    read: ["sr_*", "land_cover"]
    quotas: {requests_per_minute: {default: 10, tiles: 100}}
  runner:
    read: ["*"]
    execute: ["sdg-*"]
    quotas: {concurrent_jobs: 2, max_job_area_km2: 500}
  boss: {admin: true}
users:
  rita: {quotas: {concurrent_jobs: 7, requests_per_minute: {tiles: 5}}}
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_roles_read_and_execute_by_pattern(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    reader, runner, boss = policy.role("reader"), policy.role("runner"), policy.role("boss")
    assert reader.may_read("sr_annual") and reader.may_read("land_cover")
    assert not reader.may_read("land_cover_2") and not reader.may_read("population")
    assert not reader.may_execute("band-math")
    assert runner.may_execute("sdg-15-3-1") and not runner.may_execute("band-math")
    assert boss.may_read("anything") and boss.may_execute("anything")


def test_unknown_roles_get_no_more_than_anonymous(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    assert policy.role("retired-role").name == "nobody"
    assert not policy.role("retired-role").may_read("sr_annual")


def test_quotas_per_role_and_user_overrides(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    reader = policy.quotas("someone", "reader")
    assert (reader.per_minute("tiles"), reader.per_minute("edr"), reader.concurrent_jobs) == (
        100,
        10,
        None,
    )
    rita = policy.quotas("rita", "runner")
    assert (rita.concurrent_jobs, rita.max_job_area_km2, rita.per_minute("tiles")) == (7, 500, 5)
    assert policy.quotas("rita", "reader").per_minute("edr") == 10


def test_issuer_roles_map_to_the_most_able_known_role(policy_file: Path) -> None:
    policy = load_policy(policy_file)
    assert choose_role(policy, ["runner", "reader", "offline_access"]) == "runner"
    assert choose_role(policy, ["offline_access"]) == "nobody"


def test_the_built_in_policy_loads() -> None:
    policy = load_policy(None)
    assert policy.role("admin").admin and not policy.role(policy.anonymous_role).read


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("roles: {a: {read: 3}}\nanonymous_role: a", "roles.a.read"),
        ("roles: {a: {}}\nanonymous_role: b", "anonymous_role"),
        ("roles: {a: {quotas: {requests_per_minute: {tilez: 3}}}}\nanonymous_role: a", "tilez"),
        ("roles: {a: {wrong: 1}}\nanonymous_role: a", "wrong"),
        ("roles: [", "not YAML"),
    ],
)
def test_a_bad_policy_says_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says):
        load_policy(path)


def test_a_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")
