# Sourced by .ci/run: installs PostgreSQL from Debian's packages when missing, starts a
# throwaway cluster on 127.0.0.1 and exports ALMACLEAN_TEST_PG_URL so the storage and analysis
# tests run against it as well as SQLite. Stopped when .ci/run exits.
pg_port=54329
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "+ installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
fi
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_data=$(mktemp -d /tmp/almaclean-ci-pg.XXXXXX)
pg_user=postgres
id "$pg_user" >/dev/null 2>&1 || pg_user=$(id -un)
chown "$pg_user" "$pg_data"
as_pg() { if [ "$(id -un)" = "$pg_user" ]; then "$@"; else su "$pg_user" -s /bin/sh -c "$(printf '%q ' "$@")"; fi; }
as_pg "$pg_bin/initdb" -D "$pg_data/db" -A trust -U postgres --no-sync >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_data/db" -l "$pg_data/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_data -c fsync=off" start >/dev/null
trap 'as_pg "$pg_bin/pg_ctl" -D "$pg_data/db" -m immediate stop >/dev/null 2>&1 || true' EXIT
export ALMACLEAN_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
echo "+ PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port for the tests"
