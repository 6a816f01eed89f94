# Stand-in for the official postgres image, for machines without a registry (built by
# scripts/build_base_images.sh from the Python stand-in): Debian's PostgreSQL 15 and an entry point
# with the behaviour docker-compose.yml relies on — POSTGRES_USER/PASSWORD/DB, PGDATA, scripts in
# /docker-entrypoint-initdb.d run once on an empty data directory. Not shipped to users.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PG_MAJOR=15
# no default cluster: the entry point initialises PGDATA itself; versions are bookworm's
# hadolint ignore=DL3008
RUN mkdir -p /etc/postgresql-common \
    && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "postgresql-${PG_MAJOR}" postgresql-client \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
# hadolint ignore=DL3066
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
