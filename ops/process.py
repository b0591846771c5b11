"""What every long-running gigstream process other than the Faust worker sets up the same way."""

import asyncio
import logging
import signal


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT, for the running loop to stop cleanly on."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


def log_to_stderr(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
