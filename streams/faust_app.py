"""The Faust app, its input topic and its batches, as the worker configures them; the
benchmark's bare agent (bench/bare_faust.py) takes the same, to measure Faust alone."""

import logging
from collections.abc import AsyncIterator
from typing import Any

import faust

from ops.kafka_auth import Principal, faust_credentials
from ops.settings import Settings
from topics.catalog import INPUT_TOPICS

INPUT_NAMES = [topic.name for topic in INPUT_TOPICS]


def faust_app(cfg: Settings, **options: Any) -> faust.App:
    # Faust keeps little here (no tables), but it creates only the last folder of the path.
    datadir = cfg.stack_dir.resolve() / "faust"
    datadir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        cfg.app_id,
        broker=f"kafka://{cfg.kafka_bootstrap}",
        broker_credentials=faust_credentials(cfg, Principal.GIGSTREAM),
        store="memory://",
        datadir=str(datadir),
        autodiscover=False,
        # web_host only names the worker in its URLs; web_bind is where it listens.
        web_host=cfg.web_host,
        web_bind=cfg.web_host,
        web_port=cfg.web_port,
        topic_partitions=cfg.topic_partitions,
        processing_guarantee="at_least_once",
        producer_linger=cfg.producer_linger_s,
        producer_max_batch_size=256 * 1024,
        consumer_auto_offset_reset="earliest",
        **options,
    )


def input_topic(app: faust.App) -> faust.TopicT:
    """The five input topics as raw bytes: the pipeline validates them itself."""
    return app.topic(*INPUT_NAMES, key_serializer="raw", value_serializer="raw", allow_empty=True)


def batches(stream: faust.StreamT[bytes], cfg: Settings) -> AsyncIterator[list[faust.EventT]]:
    return stream.take_events(cfg.batch_max, within=cfg.batch_within_s)


class Worker(faust.Worker):
    """Faust's worker without its progress spinner, which sets the root logger to DEBUG to
    spin on every record: every debug line of aiokafka was built, 8% of the worker's CPU."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None


def run(app: faust.App, cfg: Settings) -> None:
    Worker(app, loglevel=cfg.log_level).execute_from_commandline()
