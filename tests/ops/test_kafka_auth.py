"""Kafka logins: off by default, each principal's password from its setting or the local
stack's file, never shown, and the producing systems' ACLs limited to the input topics."""

from pathlib import Path

import pytest
from kafka.admin import ACLOperation, ResourceType

from ops import kafka_auth
from ops.kafka_auth import CredentialsError, Principal, client_options
from ops.settings import Settings
from topics.catalog import INPUT_TOPICS

SECRET = "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def no_passwords_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for principal in Principal:
        monkeypatch.delenv(f"GIGSTREAM_KAFKA_{principal.upper()}_PASSWORD", raising=False)


def scram(tmp_path: Path, **passwords: str) -> Settings:
    return Settings(kafka_sasl="scram", stack_dir=tmp_path, **passwords)


def test_without_sasl_a_client_gets_only_the_bootstrap_servers(tmp_path: Path) -> None:
    cfg = Settings(stack_dir=tmp_path)
    assert client_options(cfg, Principal.GIGSTREAM) == {"bootstrap_servers": cfg.kafka_bootstrap}
    assert kafka_auth.faust_credentials(cfg, Principal.GIGSTREAM) is None


def test_with_sasl_a_client_logs_in_as_its_principal_with_scram(tmp_path: Path) -> None:
    options = client_options(scram(tmp_path, kafka_publisher_password=SECRET), Principal.PUBLISHER)
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("publisher", SECRET)


def test_a_password_never_shows_in_a_repr_of_the_options(tmp_path: Path) -> None:
    cfg = scram(tmp_path, kafka_gigstream_password=SECRET)
    options = client_options(cfg, Principal.GIGSTREAM)
    assert SECRET not in f"{options} {cfg!r} {cfg}"
    assert SECRET not in repr(kafka_auth.faust_credentials(cfg, Principal.GIGSTREAM))


def test_missing_passwords_are_generated_once_into_a_private_file(tmp_path: Path) -> None:
    cfg = scram(tmp_path, kafka_admin_password=SECRET)
    assert kafka_auth.generate_missing(cfg) == [Principal.GIGSTREAM, Principal.PUBLISHER]
    first = kafka_auth.password(cfg, Principal.GIGSTREAM)
    assert kafka_auth.generate_missing(cfg) == []
    assert kafka_auth.password(cfg, Principal.GIGSTREAM) == first
    assert kafka_auth.password(cfg, Principal.ADMIN) == SECRET
    assert kafka_auth.credentials_file(cfg).stat().st_mode & 0o777 == 0o600


def test_a_setting_wins_over_the_stored_password(tmp_path: Path) -> None:
    kafka_auth.generate_missing(scram(tmp_path))
    cfg = scram(tmp_path, kafka_publisher_password=SECRET)
    assert kafka_auth.password(cfg, Principal.PUBLISHER) == SECRET


def test_a_missing_password_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="GIGSTREAM_KAFKA_GIGSTREAM_PASSWORD is not set"):
        client_options(scram(tmp_path), Principal.GIGSTREAM)


def test_a_credentials_file_others_can_read_is_refused(tmp_path: Path) -> None:
    cfg = scram(tmp_path)
    kafka_auth.generate_missing(cfg)
    kafka_auth.credentials_file(cfg).chmod(0o644)
    with pytest.raises(CredentialsError, match="chmod 600"):
        kafka_auth.password(cfg, Principal.ADMIN)


def test_an_admin_password_that_would_break_the_broker_config_is_refused_unshown(
    tmp_path: Path,
) -> None:
    unsafe = 'pass"word;'
    with pytest.raises(CredentialsError) as refused:
        kafka_auth.broker_password(scram(tmp_path, kafka_admin_password=unsafe))
    assert unsafe not in str(refused.value)


def test_the_producing_systems_may_only_write_the_input_topics() -> None:
    rights = [
        (acl.operation, acl.resource_pattern.resource_type, acl.resource_pattern.resource_name)
        for acl in kafka_auth.acls(Settings())
        if acl.principal == f"User:{Principal.PUBLISHER}"
    ]
    expected = [(ACLOperation.WRITE, ResourceType.TOPIC, topic.name) for topic in INPUT_TOPICS]
    assert sorted(rights) == sorted(expected)


def test_the_services_may_not_write_the_input_topics() -> None:
    inputs = {topic.name for topic in INPUT_TOPICS}
    for acl in kafka_auth.acls(Settings()):
        if acl.principal == f"User:{Principal.GIGSTREAM}" and acl.operation != ACLOperation.READ:
            assert acl.resource_pattern.resource_name not in inputs
