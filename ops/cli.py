"""The `gigstream` command: the stack, the worker, notify, the main job, publishing, reports."""

import argparse
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ops import stack
from ops.kafka_auth import CredentialsError
from ops.settings import settings
from topics.catalog import BY_NAME, INPUT_TOPICS


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (stack.StackError, CredentialsError) as error:
        print(f"gigstream: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gigstream", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    up = commands.add_parser("up", help="the main job: stack, worker, notify and a live demo feed")
    up.add_argument("--rate", type=float, default=20.0, help="demo feed, events/s")
    up.set_defaults(run=_up)

    stack_cmd = commands.add_parser("stack", help="the local Kafka + Redis stack")
    stack_cmd.add_argument("action", choices=["up", "down", "status"])
    stack_cmd.set_defaults(run=_stack)

    worker = commands.add_parser("worker", help="run one stream worker (Faust)")
    worker.set_defaults(run=_worker)

    matcher = commands.add_parser("matcher", help="run one matcher: matches and job pushes")
    matcher.set_defaults(run=_matcher)

    circle = commands.add_parser("circle", help="serve the 15-minute circle's live coverage")
    circle.set_defaults(run=_circle)

    notify = commands.add_parser("notify", help="deliver job pushes from gig.notifications")
    notify.set_defaults(run=_notify)

    rebuild = commands.add_parser(
        "rebuild", help="wipe what the workers derive from Redis and replay the input topics"
    )
    rebuild.add_argument("--yes", action="store_true", help="wipe without asking")
    rebuild.set_defaults(run=_rebuild)

    publish = commands.add_parser("publish", help="publish JSONL events to an input topic")
    publish.add_argument("topic", choices=[topic.name for topic in INPUT_TOPICS])
    publish.add_argument("file", nargs="?", default="-", help="a JSONL file, or - for stdin")
    publish.set_defaults(run=_publish)

    simulate = commands.add_parser("simulate", help="a seeded, realistic city event feed")
    simulate.add_argument("--seed", type=int, default=20261127)
    simulate.add_argument("--rate", type=float, default=200.0, help="events/s; 0 = as fast")
    simulate.add_argument("--count", type=int, default=0, help="stop after N events; 0 = never")
    simulate.add_argument("--out", type=Path, help="write JSONL files per topic here instead")
    simulate.set_defaults(run=_simulate)

    report = commands.add_parser(
        "report", help="the week's or month's 求人倍率 and wage levels as CSV, Markdown and PNG"
    )
    report.add_argument("--period", default="month", metavar="week|month")
    report.add_argument(
        "--at",
        metavar="YYYY-MM-DD",
        help="a Beijing date in the period; default: the last complete one",
    )
    report.add_argument("--out", type=Path, help="the folder to write; default: reports/<period>")
    report.set_defaults(run=_report)
    return parser


def _stack(args: argparse.Namespace) -> int:
    action = {"up": stack.up, "down": stack.down, "status": stack.status}[args.action]
    for line in action(settings()):
        print(line)
    return 0


def _worker(args: argparse.Namespace) -> int:
    from streams.app import run_worker  # imports Faust and builds the app: only here

    sys.argv = [sys.argv[0], "worker"]
    run_worker()
    return 0


def _matcher(args: argparse.Namespace) -> int:
    from streams.match_worker import serve  # imports aiokafka and Redis: only here

    serve(settings())
    return 0


def _circle(args: argparse.Namespace) -> int:
    from streams.circle_service import serve  # imports aiohttp and Redis: only here

    serve(settings())
    return 0


def _notify(args: argparse.Namespace) -> int:
    from ops.notify import serve  # imports aiokafka, aiohttp and Redis: only here

    serve(settings())
    return 0


def _up(args: argparse.Namespace) -> int:
    cfg = settings()
    lines = stack.up(cfg)
    print("\n".join(lines))
    # Ctrl-C stops the services this run started; ones already running stay up.
    started_here = any(": started pid" in line for line in lines)
    me = [sys.executable, "-m", "ops.cli"]
    # The ranked lists need a bearer token: one made up for this run unless configured
    # (shown on this console only; a configured one is never printed).
    demo = None if cfg.tokens() else secrets.token_urlsafe(16)
    bearer = f"-H 'Authorization: Bearer {demo}'" if demo else "a GIGSTREAM_API_TOKENS token"
    quiet = {
        **os.environ,
        "GIGSTREAM_API_TOKENS": cfg.api_tokens or str(demo),
        "GIGSTREAM_LOG_LEVEL": os.environ.get("GIGSTREAM_LOG_LEVEL", "warn"),
    }
    children = [
        subprocess.Popen([*me, "worker"], env=quiet),
        subprocess.Popen([*me, "matcher"], env=quiet),
        subprocess.Popen([*me, "circle"], env=quiet),
        # Not quiet: with the log sender, its lines are the pushes.
        subprocess.Popen([*me, "notify"]),
        subprocess.Popen([*me, "simulate", "--rate", str(args.rate)]),
    ]
    print(
        "gigstream is running: a worker, a matcher, the circle, notify and the city simulator"
        f" at {args.rate:g} events/s.\n"
        f"  metrics:      http://{cfg.web_host}:{cfg.web_port}/metrics (worker),"
        f" :{cfg.matcher_metrics_port}/metrics (matcher)\n"
        f"  HTTP API:     http://{cfg.web_host}:{cfg.web_port}/circle/jobs?lat=32.2&lon=119.45"
        "&mode=ebike, /seekers/<id>/matches, /jobs/<id>/candidates"
        f" (those two with {bearer})\n"
        f"  figures:      http://{cfg.web_host}:{cfg.web_port}/figures/positions-per-seeker"
        "?by=occupation, /figures/wages?occupation=保洁员; gigstream report --period week\n"
        f"  the circle:   http://{cfg.web_host}:{cfg.circle_port}/circle/coverage,"
        " /circle/gaps?k=5, /metrics\n"
        f"  pushes:       notify's log ({cfg.notify_sender} sender),"
        f" http://{cfg.web_host}:{cfg.notify_metrics_port}/metrics\n"
        f"  dead letters: kcat -b {cfg.kafka_bootstrap} -t gig.deadletter -C\n"
        f"  live state:   redis-cli -u {cfg.redis_url} zcard gs:geo:jobs\n"
        "  Grafana:      docker compose up (needs Docker)\n"
        "Ctrl-C stops everything."
    )
    try:
        return _first_exit(children)
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait()
        if started_here:
            print("\n".join(stack.down(cfg)))


def _first_exit(children: list[subprocess.Popen[bytes]]) -> int:
    """Waits until one child ends (a crash ends the main job) and returns its code."""
    while True:
        for child in children:
            code = child.poll()
            if code is not None:
                return code
        time.sleep(0.5)


def _rebuild(args: argparse.Namespace) -> int:
    from ops.rebuild import RebuildError, rebuild

    cfg = settings()
    if not args.yes:
        print(
            f"gigstream rebuild wipes the workers' state from {_where(cfg.redis_url)} and replays"
            " every input topic: run it again with --yes",
            file=sys.stderr,
        )
        return 2
    try:
        done = rebuild(cfg)
    except RebuildError as error:
        print(f"gigstream rebuild: {error}", file=sys.stderr)
        return 1
    rate = done.events / done.seconds if done.seconds else 0.0
    print(f"rebuilt from {done.events:,} events in {done.seconds:.1f} s ({rate:,.0f} events/s)")
    return 0


def _where(url: str) -> str:
    """A Redis URL without its credentials."""
    parts = urlsplit(url)
    return f"redis://{parts.hostname}:{parts.port or 6379}{parts.path}"


def _publish(args: argparse.Namespace) -> int:
    from ops.publish import publish, read_lines

    published, refused = publish(settings(), BY_NAME[args.topic], read_lines(args.file), sys.stderr)
    print(f"published {published} events to {args.topic}, refused {refused}", file=sys.stderr)
    return 1 if refused else 0


def _simulate(args: argparse.Namespace) -> int:
    from ops.simulate import limited, to_jsonl, to_kafka
    from ops.simulator.feed import Feed

    if args.rate < 0 or args.count < 0:
        print("gigstream simulate: --rate and --count must not be negative", file=sys.stderr)
        return 2
    # Simulated time runs at the target rate, or at 1,000 events/s when unpaced.
    feed = Feed(args.seed, datetime.now(UTC), args.rate or 1000.0)
    messages = limited(feed, args.count)
    if args.out:
        written = to_jsonl(args.out, messages, sys.stderr)
        print(f"wrote {written} events to {args.out}", file=sys.stderr)
    else:
        sent = to_kafka(settings(), messages, args.rate, sys.stderr)
        print(f"published {sent} events", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from ops.report import (
        ReportError,
        chosen_window,
        folder_name,
        label,
        read_counts_of,
        write_report,
    )
    from ops.report_charts import cjk_font
    from processors.figures.report import report

    try:
        window = chosen_window(args.period, args.at, time.time_ns() // 1_000_000)
    except ReportError as error:
        print(f"gigstream report: {error}", file=sys.stderr)
        return 2
    out = args.out or Path("reports") / folder_name(window)
    if out.exists() and not out.is_dir():
        print(f"gigstream report: --out {out} is a file, not a folder", file=sys.stderr)
        return 2
    if cjk_font() is None:
        print(
            "gigstream report: no CJK font installed (apt-get install fonts-wqy-microhei):"
            " the charts' Chinese shows as boxes",
            file=sys.stderr,
        )
    cfg = settings()
    try:
        counts = read_counts_of(cfg.redis_url, window)
    except RedisError as error:
        print(f"gigstream report: Redis at {_where(cfg.redis_url)}: {error}", file=sys.stderr)
        return 1
    table = report(counts, window)
    written = write_report(table, out)
    if not any(row.now.positions or row.now.seekers for row in table.rows):
        print(
            f"gigstream report: nothing was counted in {label(window)}: is a worker counting?",
            file=sys.stderr,
        )
    print("\n".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
