#!/bin/sh
# routing rows for the policy table.
set -e
CONFIG="${AM_CONFIG:-/etc/alertmanager/alertmanager.yml}"

t() { amtool config routes test --config.file="$CONFIG" "$@"; }

t --verify.receivers=pager alertname=DemoInstanceDown severity=critical
t --verify.receivers=ticket alertname=DemoHighErrorRatio severity=warning
t --verify.receivers=default alertname=Other severity=info
t --verify.receivers=default alertname=NoSeverity
echo "routes ok"
