# syntax=docker/dockerfile:1
# MLflow tracking server + model registry on PostgreSQL, proxying artifacts (--serve-artifacts)
# from a volume, at the MLflow version the platform is locked to. Build from the repository root:
#   docker build -f docker/mlflow.Dockerfile -t edip-mlflow .
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/constraints.txt /tmp/constraints.txt
RUN pip install -c /tmp/constraints.txt mlflow psycopg2-binary

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid "${UID}" mlflow \
    && useradd --system --uid "${UID}" --gid mlflow --home-dir /home/mlflow --create-home mlflow \
    && mkdir -p /mlartifacts \
    && chown mlflow:mlflow /mlartifacts
COPY --from=builder /opt/venv /opt/venv
COPY docker/mlflow-entrypoint.sh /usr/local/bin/mlflow-entrypoint.sh
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    MLFLOW_ARTIFACTS_DESTINATION=/mlartifacts
USER ${UID}:${UID}
VOLUME ["/mlartifacts"]
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=4).status != 200)"]
ENTRYPOINT ["mlflow-entrypoint.sh"]
