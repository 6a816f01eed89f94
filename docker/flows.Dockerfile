# syntax=docker/dockerfile:1
# The data pipeline with Prefect: one image for the Prefect server (`prefect server start`) and
# for the worker that serves the scheduled ingest flows (`edip flows serve`). Build from the
# repository root:
#   docker build -f docker/flows.Dockerfile -t edip-flows .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY requirements/constraints.txt requirements/constraints.txt
COPY 01_data_pipeline/pyproject.toml 01_data_pipeline/pyproject.toml
COPY 01_data_pipeline/src 01_data_pipeline/src
# the pipeline first, in a layer identical in the API, dashboard and flows images (built once)
RUN pip install -c requirements/constraints.txt ./01_data_pipeline
# the pipeline's flows extra (Prefect, the connectors) and asyncpg, the Prefect server's PostgreSQL
# driver (their own layer: the one above is shared)
# hadolint ignore=DL3059
RUN pip install -c requirements/constraints.txt "./01_data_pipeline[flows]" asyncpg
# what no running service uses goes (pip, the libraries' test suites…: docker/slim_venv.sh)
COPY docker/slim_venv.sh /usr/local/bin/slim_venv.sh
RUN slim_venv.sh /opt/venv

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid "${UID}" edip \
    && useradd --system --uid "${UID}" --gid edip --home-dir /home/edip --create-home edip \
    && mkdir -p /data \
    && chown edip:edip /data
COPY --from=builder /opt/venv /opt/venv
COPY params.yaml /app/params.yaml
COPY docker/flows-entrypoint.sh /usr/local/bin/flows-entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PREFECT_HOME=/home/edip/.prefect \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    EDIP_DATA_DIR=/data \
    EDIP_PARAMS_FILE=/app/params.yaml
WORKDIR /app
USER ${UID}:${UID}
VOLUME ["/data"]
EXPOSE 4200
ENTRYPOINT ["flows-entrypoint.sh"]
CMD ["edip", "flows", "serve"]
