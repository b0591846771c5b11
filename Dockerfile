# The gigstream worker image; docker-compose.yml runs it with Kafka, Redis, Prometheus, Grafana.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Settings default to 127.0.0.1 (safe on a laptop); inside a container that address is
# unreachable from outside, so the image itself listens on all of its own interfaces.
ENV GIGSTREAM_WEB_HOST=0.0.0.0

WORKDIR /src
COPY pyproject.toml README.md ./
COPY topics/ topics/
COPY processors/ processors/
COPY streams/ streams/
COPY ops/ ops/
# All dependencies have amd64 wheels; on arm64 faust-streaming builds from its sdist and
# falls back to pure Python when no compiler is present.
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 gigstream

USER gigstream
# Faust keeps its data dir under the working directory (relative path), so it must be
# writable; running outside /src also makes every import come from the installed package.
WORKDIR /home/gigstream

EXPOSE 6066
ENTRYPOINT ["gigstream"]
CMD ["worker"]
