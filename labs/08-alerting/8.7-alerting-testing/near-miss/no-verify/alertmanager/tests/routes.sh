#!/bin/sh
# Routing tests for alertmanager/alertmanager.yml. Must exit non-zero when a route is wrong.
# Run:  docker exec <alertmanager container> sh /etc/alertmanager/tests/routes.sh
set -e
CONFIG="${AM_CONFIG:-/etc/alertmanager/alertmanager.yml}"

t() { amtool config routes test --config.file="$CONFIG" "$@"; }

# MISTAKE: without --verify.receivers amtool only PRINTS the receivers and exits 0,
# so this script passes whatever the routes do.
t alertname=DemoInstanceDown   severity=critical
t alertname=DemoHighErrorRatio severity=warning
t alertname=SomethingElse      severity=info
echo "routes ok"
