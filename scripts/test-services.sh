#!/bin/sh
# Make the real services the sink tests talk to available, as far as this machine
# allows: start the machine's PostgreSQL and Mosquitto where they do not answer, and
# install InfluxDB (Debian's influxdb, for influxd; the tests run a private one on a
# free port) where it is missing and we may. Whatever still is not there makes its
# tests skip with a notice, or fail under CI=true.
set -u

answers() { python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$1" 2>/dev/null; }

if ! answers 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
fi
if ! answers 1883 && command -v mosquitto >/dev/null 2>&1; then
    mosquitto -d -c /etc/mosquitto/mosquitto.conf || true
fi
if ! command -v influxd >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q influxdb >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q influxdb >/dev/null 2>&1; } \
        || echo "test-services: could not install influxdb; its tests will skip (fail in CI)"
fi
exit 0
