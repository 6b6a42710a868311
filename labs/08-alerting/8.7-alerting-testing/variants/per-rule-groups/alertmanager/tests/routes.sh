#!/bin/sh
# Variant: a table of "receiver labels" rows in a loop, each failure counted; exit 1 if any.
CONFIG="${AM_CONFIG:-/etc/alertmanager/alertmanager.yml}"
fail=0
while read -r want labels; do
  [ -z "$want" ] && continue
  # shellcheck disable=SC2086
  if ! amtool config routes test --config.file="$CONFIG" --verify.receivers="$want" $labels; then
    echo "FAIL: $labels should reach $want"
    fail=1
  fi
done <<ROWS
pager severity=critical team=db
ticket severity=warning
default team=web
ROWS
[ "$fail" -eq 0 ] && echo "routes ok"
exit "$fail"
