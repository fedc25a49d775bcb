#!/usr/bin/env bash
# Make sure the services the tests use are up on 127.0.0.1: PostgreSQL (with the test
# database) and Redis. Starts them when they are down; installs nothing.
set -euo pipefail

# The API tests use labelvault_test; the cvat-sdk/cvat-cli suite drives a live server on its
# own database so the two never empty each other's tables.
PG_DBS=${LABELVAULT_TEST_PG_DBS:-"labelvault_test labelvault_compat"}

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is down; starting it"
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    echo "PostgreSQL is not installed; install it (apt-get install postgresql)" >&2
    exit 1
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
fi
for db in $PG_DBS; do
  if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE $db" >/dev/null
    echo "Created database $db"
  fi
done

if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "Redis is down; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
echo "Services are up: PostgreSQL ($PG_DBS), Redis"
