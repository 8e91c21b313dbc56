#!/bin/sh
# First start (an empty data folder): a cluster whose user postgres has POSTGRES_PASSWORD, and the database
# POSTGRES_DB, as the upstream image makes them. Every start: the server, on every interface, in the foreground.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    initdb --username=postgres --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm /tmp/pwfile
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    if [ "${POSTGRES_DB:-postgres}" != postgres ]; then
        pg_ctl --wait --silent --options="-c listen_addresses=''" start
        psql --quiet --username=postgres --dbname=postgres --set=ON_ERROR_STOP=1 \
            --command="CREATE DATABASE \"$POSTGRES_DB\""
        pg_ctl --wait --silent --mode=fast stop
    fi
fi
exec postgres -c listen_addresses='*'
