"""The local stack without Docker: one KRaft Kafka node and one Redis server under stack_dir.

`up` reuses whatever already answers on the configured addresses and records only what it
starts (pid files), so `down` never stops a process it did not start.
"""

import fcntl
import hashlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

import redis
from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
)
from kafka.admin import UserScramCredentialUpsertion as ScramUpsertion
from kafka.errors import KafkaError, TopicAlreadyExistsError

from ops import kafka_auth
from ops.kafka_auth import Principal
from ops.settings import DAY_SECONDS, Settings
from topics.catalog import ALL_TOPICS, Topic

KAFKA_FILES = Path(__file__).parent / "kafka"
POM = KAFKA_FILES / "pom.xml"
SERVER_TEMPLATE = KAFKA_FILES / "server.properties"
SASL_OVERLAY = KAFKA_FILES / "sasl.properties"
LOG4J2 = KAFKA_FILES / "log4j2.properties"
MAVEN_NS = "http://maven.apache.org/POM/4.0.0"

JAVA_MIN = 17
JAVA_HINT = "install a JDK 17+ (apt-get install openjdk-17-jre-headless)"
MVN_TIMEOUT_S = 900
JAVA_TOOL_TIMEOUT_S = 120
APT_TIMEOUT_S = 600
PROBE_TIMEOUT_MS = 3_000
ADMIN_TIMEOUT_MS = 15_000
KAFKA_READY_S = 60.0
REDIS_READY_S = 15.0
TOPICS_READY_S = 30.0
KAFKA_STOP_S = 30.0
REDIS_STOP_S = 10.0
KILL_WAIT_S = 5.0
RETENTION_MS = 30 * DAY_SECONDS * 1000
TAIL_LINES = 5


class StackError(Exception):
    """Why the stack cannot do what was asked, in one line a person can act on."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Service:
    name: str
    # Part of /proc/<pid>/cmdline of the process we start, so a stale pid file that now
    # names some other program never gets it signalled.
    marker: str
    home: Path
    log: Path

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"


def up(cfg: Settings) -> list[str]:
    """Start (or reuse) Kafka and Redis, wait until both answer, and create every topic (with
    GIGSTREAM_KAFKA_SASL=scram: a broker that authenticates, and its users and ACLs)."""
    with _exclusive(cfg):
        lines = _generate_passwords(cfg) + _start_kafka(cfg) + _start_redis(cfg)
        lines.append(_await(_kafka(cfg), lambda: _kafka_ready(cfg), KAFKA_READY_S))
        lines.append(_await(_redis(cfg), lambda: _redis_answers(cfg), REDIS_READY_S))
        return lines + create_topics(cfg) + create_principals(cfg)


def down(cfg: Settings) -> list[str]:
    """Stop exactly the processes `up` started; reused servers are left alone."""
    with _exclusive(cfg):
        return [_stop(_kafka(cfg), KAFKA_STOP_S), _stop(_redis(cfg), REDIS_STOP_S)]


def status(cfg: Settings) -> list[str]:
    return [
        _status_line(_kafka(cfg), _kafka_address(cfg), _kafka_ready(cfg)),
        _status_line(_redis(cfg), _redis_address(cfg), _redis_answers(cfg)),
    ]


def is_up(cfg: Settings) -> bool:
    return _kafka_ready(cfg) and _redis_answers(cfg)


def create_topics(cfg: Settings) -> list[str]:
    """Create the catalog's missing topics and wait until every topic has a leader everywhere."""
    names = [topic.name for topic in ALL_TOPICS]
    try:
        with _admin(cfg) as admin:
            existing = set(admin.list_topics())
            missing = [topic for topic in ALL_TOPICS if topic.name not in existing]
            if missing:
                specs = {topic.name: _topic_spec(cfg, topic) for topic in missing}
                _check_created(admin.create_topics(specs, raise_errors=False))
            admin.wait_for_topics(names, timeout_ms=int(TOPICS_READY_S * 1000))
    except KafkaError as exc:
        raise StackError(f"topics on {cfg.kafka_bootstrap} are not ready: {exc}") from exc
    if not missing:
        return [f"topics: all {len(names)} present"]
    created = ", ".join(topic.name for topic in missing)
    return [f"topics: created {created} ({cfg.topic_partitions} partitions each)"]


def _topic_spec(cfg: Settings, topic: Topic) -> dict[str, object]:
    if topic.compacted:
        configs = {
            "cleanup.policy": "compact",
            "min.compaction.lag.ms": str(cfg.compaction_lag_s * 1000),
        }
    else:
        configs = {"retention.ms": str(RETENTION_MS)}
    return {"num_partitions": cfg.topic_partitions, "replication_factor": 1, "configs": configs}


def _check_created(result: dict[str, list[dict[str, object]]]) -> None:
    ok = {0, TopicAlreadyExistsError.errno}
    failed = [
        f"{topic['name']}: {topic['error_message'] or topic['error_code']}"
        for topic in result["topics"]
        if topic["error_code"] not in ok
    ]
    if failed:
        raise StackError(f"creating topics failed: {'; '.join(failed)}")


def create_principals(cfg: Settings) -> list[str]:
    """With SASL on: the services' and the producing systems' SCRAM users and their ACLs,
    (re)set and waited for until the broker enforces them."""
    if cfg.kafka_sasl == "off":
        return []
    users = [Principal.GIGSTREAM, Principal.PUBLISHER]
    upserts = [
        ScramUpsertion(user.value, ScramMechanism.SCRAM_SHA_512, kafka_auth.password(cfg, user))
        for user in users
    ]
    rules = kafka_auth.acls(cfg)
    try:
        with _admin(cfg) as admin:
            _check_altered(admin.alter_user_scram_credentials(upserts))
            created = admin.create_acls(rules)
            if created["failed"]:
                raise StackError(f"creating ACLs failed: {created['failed'][0]}")
            if not _poll(lambda: _principals_in_force(admin, users, rules), TOPICS_READY_S):
                raise StackError(f"users and ACLs not in force after {TOPICS_READY_S:.0f} s")
    except KafkaError as exc:
        raise StackError(f"users and ACLs on {cfg.kafka_bootstrap} failed: {exc}") from exc
    names = ", ".join(users)
    return [f"kafka: SCRAM users {names} and their {len(rules)} ACLs in force"]


def _check_altered(errors: dict[str, str | None]) -> None:
    failed = [f"{user}: {error}" for user, error in errors.items() if error]
    if failed:
        raise StackError(f"creating SCRAM users failed: {'; '.join(failed)}")


def _principals_in_force(admin: KafkaAdminClient, users: list[Principal], rules: list[ACL]) -> bool:
    described = admin.describe_user_scram_credentials([user.value for user in users])
    if any(described.get(user, {}).get("error") is not None for user in users):
        return False
    every = ACLFilter(
        None,
        None,
        ACLOperation.ANY,
        ACLPermissionType.ANY,
        ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    present, _ = admin.describe_acls(every)
    return {_acl_key(rule) for rule in rules} <= {_acl_key(acl) for acl in present}


def _acl_key(acl: ACL) -> tuple[object, ...]:
    pattern = acl.resource_pattern
    return (
        acl.principal,
        acl.host,
        acl.operation,
        acl.permission_type,
        pattern.resource_type,
        pattern.resource_name,
        pattern.pattern_type,
    )


@contextmanager
def _exclusive(cfg: Settings) -> Iterator[None]:
    """One up or down at a time per stack_dir: parallel pytest workers, or a second shell,
    would otherwise format one data directory twice and lose each other's pid files."""
    lock = cfg.stack_dir.resolve() / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --- Kafka -------------------------------------------------------------------------------


def _kafka(cfg: Settings) -> Service:
    home = cfg.stack_dir.resolve() / "kafka"
    return Service("kafka", "kafka.Kafka", home, home / "broker.log")


def _kafka_address(cfg: Settings) -> Address:
    host, _, port = cfg.kafka_bootstrap.rpartition(":")
    if not host or "," in host or not port.isdigit():
        raise StackError(
            f"GIGSTREAM_KAFKA_BOOTSTRAP={cfg.kafka_bootstrap!r}: the stack needs one host:port"
        )
    return Address(host, int(port))


def _kafka_data(cfg: Settings) -> Path:
    """A data directory per mode: the SASL one is formatted with the admin's SCRAM user."""
    return _kafka(cfg).home / ("data" if cfg.kafka_sasl == "off" else "data-scram")


def _generate_passwords(cfg: Settings) -> list[str]:
    if cfg.kafka_sasl == "off":
        return []
    made = kafka_auth.generate_missing(cfg)
    if not made:
        return []
    where = kafka_auth.credentials_file(cfg)
    return [f"kafka: generated passwords for {', '.join(made)} into {where} (mode 600)"]


def _start_kafka(cfg: Settings) -> list[str]:
    svc, addr = _kafka(cfg), _kafka_address(cfg)
    if _kafka_ready(cfg):
        return [f"kafka: reusing {_owner(svc)} broker at {addr}"]
    if (pid := _owned_pid(svc)) is not None:
        return [f"kafka: ours (pid {pid}) is still starting at {addr}"]
    controller = Address(addr.host, addr.port + 1)
    ip = _loopback_ip(addr, "GIGSTREAM_KAFKA_BOOTSTRAP")
    _require_free(addr, "a Kafka broker", "GIGSTREAM_KAFKA_BOOTSTRAP")
    _require_free(controller, "the Kafka controller (broker port + 1)", "GIGSTREAM_KAFKA_BOOTSTRAP")
    _require_java()
    libs = svc.home / "libs"
    lines = _ensure_jars(libs)
    config = _write_server_properties(cfg, svc.home, Address(ip, addr.port))
    lines += _format_storage(cfg, libs, config)
    args = [
        *_java_command(libs, f"-Xmx{cfg.kafka_heap}", "-Xms128m", "-XX:+UseG1GC"),
        "kafka.Kafka",
        str(config),
    ]
    pid = _spawn(args, svc)
    return [*lines, f"kafka: started pid {pid} at {addr} (log {svc.log})"]


def _kafka_ready(cfg: Settings) -> bool:
    """The broker answers, and the controller has registered it (a controller id, unfenced)."""
    if not _port_open(_kafka_address(cfg)):
        return False
    try:
        with _admin(cfg, PROBE_TIMEOUT_MS) as admin:
            cluster = admin.describe_cluster()
    except KafkaError:
        return False
    brokers = cluster["brokers"]
    return cluster["controller_id"] >= 0 and any(not b.get("is_fenced") for b in brokers)


@contextmanager
def _admin(cfg: Settings, timeout_ms: int = ADMIN_TIMEOUT_MS) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(
        **kafka_auth.client_options(cfg, Principal.ADMIN),
        client_id="gigstream-stack",
        bootstrap_timeout_ms=timeout_ms,
        request_timeout_ms=timeout_ms,
    )
    try:
        yield admin
    finally:
        admin.close()


def _require_java() -> None:
    if shutil.which("java") is None:
        raise StackError(f"java not found: {JAVA_HINT}")
    version = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version.stderr)
    if match is None:
        raise StackError(f"cannot read the version from `java -version`: {JAVA_HINT}")
    # Java 8 and older call themselves "1.8".
    major = int(match[2] or 0) if match[1] == "1" else int(match[1])
    if major < JAVA_MIN:
        raise StackError(f"java {major} is too old for Kafka 4: {JAVA_HINT}")


def _ensure_jars(libs: Path) -> list[str]:
    """Resolve the broker's jars once per version of the pom."""
    marker = libs / ".complete"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if marker.is_file() and marker.read_text().strip() == digest:
        return []
    if shutil.which("mvn") is None:
        raise StackError("mvn not found: install Maven for the Kafka jars (apt-get install maven)")
    # Jars of an older pom would sit beside the new ones on the classpath.
    shutil.rmtree(libs, ignore_errors=True)
    started = time.monotonic()
    mvn = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"]
    result = _run([*mvn, f"-DoutputDirectory={libs}", "-DincludeScope=runtime"], MVN_TIMEOUT_S)
    if result.returncode != 0:
        coordinates = f"org.apache.kafka:kafka_2.13:{_kafka_version()}"
        raise StackError(f"mvn failed to resolve {coordinates}: {_mvn_reason(result.stdout)}")
    marker.write_text(f"{digest}\n")
    count = len(list(libs.glob("*.jar")))
    return [f"kafka: resolved {count} jars into {libs} in {time.monotonic() - started:.1f} s"]


def _mvn_reason(output: str) -> str:
    """Maven's first [ERROR] line names the cause; the ones after it are generic help."""
    errors = [line for line in _lines(output) if line.startswith("[ERROR] ")]
    return errors[0] if errors else _tail(output)


def _kafka_version() -> str:
    pom = ET.parse(POM).getroot()
    version = pom.findtext("m:properties/m:kafka.version", namespaces={"m": MAVEN_NS})
    return version or "?"


def _write_server_properties(cfg: Settings, home: Path, addr: Address) -> Path:
    data = _kafka_data(cfg)
    data.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    places = {"host": addr.host, "port": addr.port, "controller_port": addr.port + 1}
    text = Template(SERVER_TEMPLATE.read_text()).substitute(
        places, log_dirs=data, partitions=cfg.topic_partitions
    )
    if cfg.kafka_sasl == "off":
        config.write_text(text)
        return config
    sasl = Template(SASL_OVERLAY.read_text()).substitute(
        places, admin=Principal.ADMIN, admin_password=kafka_auth.broker_password(cfg)
    )
    kafka_auth.write_private(config, text + sasl)
    return config


def _format_storage(cfg: Settings, libs: Path, config: Path) -> list[str]:
    data = _kafka_data(cfg)
    if (data / "meta.properties").exists():
        return []
    tool = [*_java_command(libs), "kafka.tools.StorageTool"]
    cluster_id = _checked_output([*tool, "random-uuid"], "kafka random-uuid").split()[-1]
    formatting = [*tool, "format", "-t", cluster_id, "-c", str(config)]
    if cfg.kafka_sasl == "off":
        _checked_output(formatting, "kafka storage format")
    else:
        secret = kafka_auth.broker_password(cfg)
        with _admin_scram_argfile(secret, data.parent) as argfile:
            _checked_output([*formatting, f"@{argfile}"], "kafka storage format", secret)
    return [f"kafka: formatted {data} (cluster id {cluster_id})"]


@contextmanager
def _admin_scram_argfile(secret: str, home: Path) -> Iterator[Path]:
    """The admin's SCRAM user for the storage tool, in an @argfile (argparse4j's: one argument
    a line) only we can read: on the command line any local user could see it in ps."""
    argfile = home / "format.args"
    scram = f"{kafka_auth.MECHANISM}=[name={Principal.ADMIN},password={secret}]"
    kafka_auth.write_private(argfile, f"--add-scram\n{scram}")
    try:
        yield argfile
    finally:
        argfile.unlink(missing_ok=True)


def _java_command(libs: Path, *jvm_options: str) -> list[str]:
    return ["java", *jvm_options, f"-Dlog4j2.configurationFile={LOG4J2}", "-cp", f"{libs}/*"]


# --- Redis -------------------------------------------------------------------------------


def _redis(cfg: Settings) -> Service:
    home = cfg.stack_dir.resolve() / "redis"
    return Service("redis", "redis-server", home, home / "redis.log")


def _redis_address(cfg: Settings) -> Address:
    url = urlsplit(cfg.redis_url)
    return Address(url.hostname or "127.0.0.1", url.port or 6379)


def _start_redis(cfg: Settings) -> list[str]:
    svc, addr = _redis(cfg), _redis_address(cfg)
    if _redis_answers(cfg):
        return [f"redis: reusing {_owner(svc)} server at {addr}"]
    if (pid := _owned_pid(svc)) is not None:
        return [f"redis: ours (pid {pid}) is still starting at {addr}"]
    ip = _loopback_ip(addr, "GIGSTREAM_REDIS_URL")
    _require_free(addr, "a Redis server", "GIGSTREAM_REDIS_URL")
    lines = ensure_debian_package("redis-server", "redis-server")
    # Debian's package may start its own server on install.
    if _redis_answers(cfg):
        return [*lines, f"redis: reusing external server at {addr}"]
    svc.home.mkdir(parents=True, exist_ok=True)
    args = [
        *("redis-server", "--bind", ip, "--port", str(addr.port), "--dir", str(svc.home)),
        *("--save", "", "--appendonly", "no", "--daemonize", "no"),
    ]
    pid = _spawn(args, svc)
    return [*lines, f"redis: started pid {pid} at {addr} (log {svc.log})"]


def _redis_answers(cfg: Settings) -> bool:
    client = redis.Redis.from_url(cfg.redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def ensure_debian_package(command: str, package: str) -> list[str]:
    """Installs Debian's package when its command is missing (as root; else says how)."""
    if shutil.which(command) is not None:
        return []
    if os.geteuid() != 0:
        raise StackError(f"{command} not found: install it (sudo apt-get install {package})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package]
    for args in (["apt-get", "update", "-qq"], install):
        result = _run(args, APT_TIMEOUT_S, env)
        if result.returncode != 0:
            raise StackError(f"{' '.join(args)} failed: {_tail(result.stdout)}")
    return [f"{command}: installed Debian's {package} package"]


# --- Processes ---------------------------------------------------------------------------


def _spawn(args: list[str], svc: Service) -> int:
    """Start a detached server (own session, output to its log) and record its pid."""
    svc.home.mkdir(parents=True, exist_ok=True)
    log_flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    # posix_spawn rather than Popen: the server outlives this call, and an unwaited Popen
    # warns (ResourceWarning) when collected, e.g. inside a pytest session.
    try:
        pid = os.posix_spawnp(
            args[0],
            args,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(svc.log), log_flags, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
            # Python ignores SIGPIPE and SIGXFSZ; servers expect the defaults, as Popen gives.
            setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
        )
    except OSError as exc:
        raise StackError(f"cannot start {svc.name} ({args[0]}): {exc}") from exc
    svc.pid_file.write_text(f"{pid}\n")
    return pid


def _owned_pid(svc: Service) -> int | None:
    pid = _recorded_pid(svc)
    return pid if pid is not None and _runs(pid, svc.marker) else None


def _recorded_pid(svc: Service) -> int | None:
    try:
        return int(svc.pid_file.read_text())
    except (OSError, ValueError):
        return None


def _runs(pid: int, marker: str) -> bool:
    """pid is a live process (not a zombie) whose command line contains marker."""
    # Reap it if it is our own child that exited (up and down in one process, as in pytest).
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return marker.encode() in cmdline


def _stop(svc: Service, grace_s: float) -> str:
    pid = _owned_pid(svc)
    if pid is None:
        if not svc.pid_file.exists():
            return f"{svc.name}: not started by us, left alone"
        svc.pid_file.unlink()
        return f"{svc.name}: removed a stale pid file ({svc.pid_file})"
    started = time.monotonic()
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    how = "stopped"
    if not _poll(lambda: not _runs(pid, svc.marker), grace_s):
        how = f"killed (no exit within {grace_s:.0f} s of SIGTERM)"
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _poll(lambda: not _runs(pid, svc.marker), KILL_WAIT_S)
    svc.pid_file.unlink(missing_ok=True)
    return f"{svc.name}: {how} pid {pid} in {time.monotonic() - started:.1f} s"


def _await(svc: Service, ready: Callable[[], bool], timeout_s: float) -> str:
    """Poll until ready; fail early with the log's tail if our process dies meanwhile."""
    started = time.monotonic()
    pid = _recorded_pid(svc)

    def check() -> bool:
        if ready():
            return True
        if pid is not None and not _runs(pid, svc.marker):
            raise StackError(f"{svc.name} (pid {pid}) exited while starting; {_log_tail(svc)}")
        return False

    if not _poll(check, timeout_s, interval_s=0.2):
        raise StackError(f"{svc.name} did not come up within {timeout_s:.0f} s; {_log_tail(svc)}")
    return f"{svc.name}: ready after {time.monotonic() - started:.1f} s"


def _poll(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
    return True


def _status_line(svc: Service, addr: Address, answers: bool) -> str:
    pid = _owned_pid(svc)
    owner = f"ours (pid {pid})" if pid is not None else "external" if answers else "not running"
    return f"{svc.name}: {'up' if answers else 'down'}, {owner}, {addr}"


def _owner(svc: Service) -> str:
    pid = _owned_pid(svc)
    return "external" if pid is None else f"our (pid {pid})"


# --- Small helpers -----------------------------------------------------------------------


def _port_open(addr: Address) -> bool:
    try:
        with socket.create_connection((addr.host, addr.port), timeout=0.5):
            return True
    except OSError:
        return False


def _require_free(addr: Address, wanted: str, setting: str) -> None:
    if _port_open(addr):
        raise StackError(
            f"port {addr} is taken by another program that is not {wanted}: stop it "
            f"(ss -ltnp 'sport = :{addr.port}' names it) or change {setting}"
        )


def _loopback_ip(addr: Address, setting: str) -> str:
    """The local stack listens on loopback only; anything else must be started by hand."""
    try:
        ip = ipaddress.ip_address(socket.gethostbyname(addr.host))
    except OSError as exc:
        raise StackError(f"cannot resolve {addr.host} from {setting}: {exc}") from exc
    if not ip.is_loopback:
        raise StackError(
            f"{addr} from {setting} is not a loopback address and nothing answers there: "
            "the local stack only starts servers on 127.0.0.1"
        )
    return str(ip)


def _run(
    args: list[str], timeout_s: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run to completion with stderr folded into stdout; a timeout counts as a failure."""
    try:
        return subprocess.run(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout_s,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, f"timed out after {timeout_s:.0f} s")


def _checked_output(args: list[str], what: str, secret: str = "") -> str:
    """The tool's output; its failure names the last lines, with the secret starred out."""
    result = _run(args, JAVA_TOOL_TIMEOUT_S)
    if result.returncode != 0:
        output = result.stdout.replace(secret, "**********") if secret else result.stdout
        raise StackError(f"{what} failed: {_tail(output)}")
    return result.stdout


def _log_tail(svc: Service) -> str:
    try:
        with svc.log.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - 16_384))
            text = log.read().decode(errors="replace")
    except OSError:
        return f"{svc.log} is missing"
    return f"last lines of {svc.log}: {_tail(text)}"


def _tail(text: str) -> str:
    return " | ".join(_lines(text)[-TAIL_LINES:]) or "(no output)"


def _lines(text: str) -> list[str]:
    """Non-blank lines without terminal colour codes."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    return [line.strip() for line in plain.splitlines() if line.strip()]
