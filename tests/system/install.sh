#!/bin/sh
# The system programs the tests run for real, from Debian's packages: PostgreSQL (the MLflow
# tracking server's backend store, tests/tracking/test_tracking_server.py) and Chromium (the
# MLflow UI opened headless by the same tests). Installed only when missing; needs root and apt
# (as CI has). Elsewhere it says what to install and fails, so a missing server is never a skip.
set -eu
missing=""
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing from Debian's packages:$missing"
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "the tests need:$missing (Debian: sudo apt-get install$missing)" >&2
exit 1
