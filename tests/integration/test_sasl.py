"""Kafka authentication: a broker of this module's own, started by ops.stack as
`GIGSTREAM_KAFKA_SASL=scram gigstream stack up` starts one, refuses whoever does not log in,
holds the producing systems to the input topics, and never shows a password.

It runs beside the shared stack, in a temporary stack directory on ports of its own, with
the jars the shared stack already resolved.
"""

import io
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed
from kafka import KafkaProducer
from kafka.errors import TopicAuthorizationFailedError

from ops import kafka_auth, stack
from ops.kafka_auth import Principal, client_options
from ops.publish import publish
from ops.settings import Settings
from tests import factory
from tests.integration.conftest import free_port, stack_of_its_own, wait_for
from topics.catalog import JOBS, MATCHES

pytestmark = pytest.mark.integration

FIRST_PORT = 19092


@dataclass
class SaslStack:
    cfg: Settings
    lines: list[str]  # everything `stack up` and `stack down` printed

    @property
    def broker_log(self) -> Path:
        return self.cfg.stack_dir / "kafka" / "broker.log"

    def passwords(self) -> list[str]:
        return [kafka_auth.password(self.cfg, principal) for principal in Principal]


@pytest.fixture(scope="module")
def sasl_stack(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SaslStack]:
    with stack_of_its_own(
        base_settings,
        tmp_path_factory.mktemp("sasl-stack"),
        FIRST_PORT,
        kafka_sasl="scram",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        # One password from the settings; the others `stack up` generates.
        kafka_publisher_password=secrets.token_urlsafe(24),
    ) as (cfg, lines):
        yield SaslStack(cfg, lines)


async def produce(options: dict[str, object], topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(**options)
    try:
        await producer.start()
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def test_a_client_that_does_not_log_in_is_refused(sasl_stack: SaslStack) -> None:
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await produce({"bootstrap_servers": sasl_stack.cfg.kafka_bootstrap}, JOBS.name, b"k", b"v")
    wait_for(
        lambda: "during SASL handshake" in sasl_stack.broker_log.read_text(),
        "the broker to log why it closed the connection",
    )


async def test_a_wrong_password_is_refused(
    sasl_stack: SaslStack, caplog: pytest.LogCaptureFixture
) -> None:
    options = client_options(sasl_stack.cfg, Principal.PUBLISHER)
    options["sasl_plain_password"] = secrets.token_urlsafe(24)
    with caplog.at_level(logging.ERROR, "aiokafka"), pytest.raises(KafkaConnectionError):
        await produce(options, JOBS.name, b"k", b"v")
    refusals = [arg for record in caplog.records for arg in record.args or ()]
    assert any(isinstance(arg, SaslAuthenticationFailed) for arg in refusals), caplog.text


def test_the_producing_systems_may_write_the_input_topics_and_nothing_else(
    sasl_stack: SaslStack,
) -> None:
    cfg = sasl_stack.cfg
    event = factory.encode(factory.job_posted(f"sasl-{secrets.token_hex(4)}"))
    assert publish(cfg, JOBS, [event], io.StringIO()) == (1, 0)
    producer = KafkaProducer(**client_options(cfg, Principal.PUBLISHER), acks="all")
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(MATCHES.name, key=b"k", value=b"v").get(timeout=30)
    finally:
        producer.close()


def test_no_password_is_shown_in_the_broker_log_the_stack_lines_or_our_logs(
    sasl_stack: SaslStack, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = sasl_stack.cfg
    with caplog.at_level(logging.DEBUG):
        lines = stack.up(cfg) + stack.status(cfg)
        event = factory.encode(factory.job_posted(f"sasl-{secrets.token_hex(4)}"))
        publish(cfg, JOBS, [event], io.StringIO())
    shown = {
        "the broker's log": sasl_stack.broker_log.read_text(),
        "the stack's lines": "\n".join(sasl_stack.lines + lines),
        "our log records": caplog.text,
        "our output": "".join(capsys.readouterr()),
        "the settings": f"{cfg!r} {cfg}",
    }
    assert "Starting KafkaAdminClient" in caplog.text  # kafka-python logged its configuration
    for password in sasl_stack.passwords():
        assert [where for where, text in shown.items() if password in text] == []
    for secret_file in ("credentials.json", "server.properties"):
        assert (cfg.stack_dir / "kafka" / secret_file).stat().st_mode & 0o077 == 0
