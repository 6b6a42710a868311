#!/bin/sh
# Routing tests for alertmanager/alertmanager.yml. Must exit non-zero when a route is wrong.
# Run:  docker exec <alertmanager container> sh /etc/alertmanager/tests/routes.sh
set -e
CONFIG="${AM_CONFIG:-/etc/alertmanager/alertmanager.yml}"

t() { amtool config routes test --config.file="$CONFIG" "$@"; }

# --verify.receivers makes amtool exit 1 when the alert reaches other receivers.
t --verify.receivers=pager  alertname=DemoInstanceDown   severity=critical
t --verify.receivers=ticket alertname=DemoHighErrorRatio severity=warning
t --verify.receivers=default alertname=SomethingElse     severity=info
echo "routes ok"
