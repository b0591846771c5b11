"""Faust alone: the worker's app, input topic and batches, with nothing done to them.

`python -m bench.bare_faust worker`, started by bench.run with GIGSTREAM_APP_ID a
group of its own, BENCH_BARE_EVENTS and BENCH_BARE_RESULT: once that many events
came through, it writes how long they took (from the first batch, as the worker's
pipeline figure is timed) to the result file, and bench.run stops it.
"""

import os
import time
from pathlib import Path

import faust
import orjson

from ops.settings import settings
from streams.faust_app import batches, faust_app, input_topic, run

cfg = settings()
app = faust_app(cfg, web_enabled=False)
wanted = int(os.environ["BENCH_BARE_EVENTS"])
result = Path(os.environ["BENCH_BARE_RESULT"])


@app.agent(input_topic(app), name="bare")
async def bare(stream: faust.StreamT[bytes]) -> None:
    seen, began = 0, 0.0
    async for events in batches(stream, cfg):
        began = began or time.perf_counter()
        seen += len(events)
        if seen - len(events) < wanted <= seen:
            seconds = time.perf_counter() - began
            result.write_bytes(orjson.dumps({"events": seen, "seconds": seconds}))


if __name__ == "__main__":
    run(app, cfg)
