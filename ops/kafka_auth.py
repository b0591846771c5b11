"""Who each Kafka client is: its connection and, with GIGSTREAM_KAFKA_SASL=scram, its principal's
SASL/SCRAM-SHA-512 login. Every client the project makes takes its options from here.
"""

import json
import os
import secrets
import string
from enum import StrEnum
from pathlib import Path
from typing import Any

from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
)
from pydantic import SecretStr

from ops.settings import Settings
from topics.catalog import DEADLETTER, INPUT_TOPICS, MATCHES, NOTIFICATIONS

PROTOCOL = "SASL_PLAINTEXT"
MECHANISM = "SCRAM-SHA-512"
# The admin's password is written into the broker's JAAS configuration and the storage
# tool's arguments, where a quote, comma or bracket would change the syntax.
BROKER_SAFE = frozenset(string.ascii_letters + string.digits + "-_.~+/=")


class Principal(StrEnum):
    ADMIN = "admin"  # the broker itself and `gigstream stack`: super user
    GIGSTREAM = "gigstream"  # the services: worker, matcher, notify
    PUBLISHER = "publisher"  # the producing systems: markets, stations, online channels


class CredentialsError(Exception):
    """A password that is needed is missing or unusable; the message never holds one."""


class Password(str):
    """Shows as stars in a repr: kafka-python logs a client's whole configuration at debug level."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


def client_options(cfg: Settings, principal: Principal) -> dict[str, Any]:
    """Keyword arguments that kafka-python's and aiokafka's clients both take."""
    options: dict[str, Any] = {"bootstrap_servers": cfg.kafka_bootstrap}
    if cfg.kafka_sasl == "off":
        return options
    return {
        **options,
        "security_protocol": PROTOCOL,
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": principal.value,
        "sasl_plain_password": password(cfg, principal),
    }


def faust_credentials(cfg: Settings, principal: Principal) -> Any:
    """The same login as Faust's broker_credentials (None: no authentication)."""
    if cfg.kafka_sasl == "off":
        return None
    import faust  # only the worker runs Faust

    return faust.SASLCredentials(
        username=principal.value, password=password(cfg, principal), mechanism=MECHANISM
    )


def password(cfg: Settings, principal: Principal) -> Password:
    """The principal's password: its setting, else the one `stack up` stored for the local stack."""
    configured = _configured(cfg)[principal]
    if configured is not None:
        return Password(configured.get_secret_value())
    stored = _stored(cfg).get(principal)
    if stored is None:
        raise CredentialsError(
            f"{_variable(principal)} is not set and {credentials_file(cfg)} holds no password"
            f" for {principal}: set it, or run `gigstream stack up` to generate local ones"
        )
    return Password(stored)


def broker_password(cfg: Settings) -> Password:
    """The admin's password, checked to be safe inside the broker's configuration."""
    secret = password(cfg, Principal.ADMIN)
    if not secret or not set(secret) <= BROKER_SAFE:
        raise CredentialsError(
            f"{_variable(Principal.ADMIN)} may hold only letters, digits and -_.~+/= "
            "(it is written into the broker's JAAS configuration)"
        )
    return secret


def generate_missing(cfg: Settings) -> list[Principal]:
    """Stores a new password for each principal that has neither a setting nor a stored one."""
    stored = _stored(cfg)
    configured = _configured(cfg)
    missing = [p for p in Principal if configured[p] is None and p not in stored]
    if missing:
        stored.update({p.value: secrets.token_urlsafe(24) for p in missing})
        write_private(credentials_file(cfg), json.dumps(stored, indent=2) + "\n")
    return missing


def credentials_file(cfg: Settings) -> Path:
    return cfg.stack_dir.resolve() / "kafka" / "credentials.json"


def write_private(path: Path, text: str) -> None:
    """Writes a file only its owner can read, replacing any older one whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    partial.replace(path)


def acls(cfg: Settings) -> list[ACL]:
    """What the producing systems and the services may do; the admin is a super user."""
    inputs = [topic.name for topic in INPUT_TOPICS]
    rights = [
        *((Principal.PUBLISHER, ACLOperation.WRITE, _topic(name)) for name in inputs),
        *((Principal.GIGSTREAM, ACLOperation.READ, _topic(name)) for name in inputs),
        (Principal.GIGSTREAM, ACLOperation.READ, _topic(NOTIFICATIONS.name)),
        *(
            (Principal.GIGSTREAM, ACLOperation.WRITE, _topic(topic.name))
            for topic in (DEADLETTER, MATCHES, NOTIFICATIONS)
        ),
        # The consumer groups (<app_id>, <app_id>-notify) and Faust's own topics
        # (<app_id>-__assignor-__leader), which the worker creates.
        (Principal.GIGSTREAM, ACLOperation.READ, _prefixed(ResourceType.GROUP, cfg.app_id)),
        (Principal.GIGSTREAM, ACLOperation.ALL, _prefixed(ResourceType.TOPIC, f"{cfg.app_id}-")),
    ]
    return [
        ACL(f"User:{who}", "*", operation, ACLPermissionType.ALLOW, pattern)
        for who, operation, pattern in rights
    ]


def _topic(name: str) -> ResourcePattern:
    return ResourcePattern(ResourceType.TOPIC, name, ACLResourcePatternType.LITERAL)


def _prefixed(kind: ResourceType, prefix: str) -> ResourcePattern:
    return ResourcePattern(kind, prefix, ACLResourcePatternType.PREFIXED)


def _configured(cfg: Settings) -> dict[Principal, SecretStr | None]:
    return {
        Principal.ADMIN: cfg.kafka_admin_password,
        Principal.GIGSTREAM: cfg.kafka_gigstream_password,
        Principal.PUBLISHER: cfg.kafka_publisher_password,
    }


def _stored(cfg: Settings) -> dict[str, str]:
    path = credentials_file(cfg)
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        return {}
    if mode & 0o077:
        raise CredentialsError(f"{path} can be read by others: chmod 600 it")
    try:
        stored = json.loads(text)
    except json.JSONDecodeError as error:
        raise CredentialsError(f"{path} is not JSON ({error.msg}): remove it") from None
    if not isinstance(stored, dict):
        raise CredentialsError(f"{path} is not a JSON object of passwords: remove it")
    return {str(name): str(value) for name, value in stored.items()}


def _variable(principal: Principal) -> str:
    return f"GIGSTREAM_KAFKA_{principal.upper()}_PASSWORD"
