#!/usr/bin/env bash
# Interrupt benchmark: N runs of `promlab up LAB --fresh`, each hit by SIGINT or SIGTERM (at
# random) at a random instant of its run (within the first two thirds of an uninterrupted
# run: the steps that create objects). After each interrupted run it counts the containers,
# networks and volumes of the lab's project that are left, and prints
#   interrupted up (LAB, seed S): runs N, interrupted I, finished before the signal F, leftovers L
# L counts runs that left anything; it must be 0. A run that finished before its signal leaves
# the lab up on purpose: the next run's --fresh must remove it (and may be hit while doing so).
# Usage: compose/bench/interrupts.sh (N=50 LAB=4.1 SEED=… BIN=…); bench.sh runs it too.
set -uo pipefail
cd "$(dirname "$0")/../.."
N=${N:-50}
LAB=${LAB:-4.1}
SEED=${SEED:-$$}
BIN=${BIN:-./target/release/promlab}
export PROMLAB_IMAGES=${PROMLAB_IMAGES:-compose/images.local.yaml}
export PROMLAB_HOME; PROMLAB_HOME=$(mktemp -d)
project=promlab-${LAB//./-}
log=$(mktemp)
trap '"$BIN" down "$LAB" >/dev/null 2>&1 || true; rm -rf "$PROMLAB_HOME" "$log"' EXIT
left() {
  { docker ps -aq --filter "label=io.promlab.project=$project"
    docker network ls -q --filter "label=io.promlab.project=$project"
    docker volume ls -q --filter "label=io.promlab.project=$project"; } | wc -l
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
RANDOM=$SEED
t0=$(ms)
"$BIN" up "$LAB" --fresh >/dev/null 2>"$log" || { cat "$log"; exit 1; }
window=$(( ($(ms) - t0) * 2 / 3 ))
interrupted=0 finished=0 leftovers=0
for i in $(seq "$N"); do
  delay=$(( RANDOM % (window + 1) ))
  if (( RANDOM % 2 )); then sig=INT; else sig=TERM; fi
  before=$(left)
  "$BIN" up "$LAB" --fresh >/dev/null 2>"$log" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -s "$sig" "$pid" 2>/dev/null
  wait "$pid"; rc=$?
  if [ "$rc" = 0 ]; then finished=$((finished + 1)); continue; fi
  interrupted=$((interrupted + 1))
  n=$(left)
  if ! grep -q "interrupted by" "$log"; then
    # Killed before promlab took the signals over: it must not have changed anything.
    if [ "$n" != "$before" ]; then
      leftovers=$((leftovers + 1))
      echo "run $i: SIG$sig after ${delay} ms killed promlab before its handler, and $before objects became $n"
    fi
    "$BIN" down "$LAB" >/dev/null 2>&1
    continue
  fi
  if [ "$n" != 0 ]; then
    leftovers=$((leftovers + 1))
    echo "run $i: SIG$sig after ${delay} ms (exit $rc) left $n objects: $(tail -1 "$log")"
    "$BIN" down "$LAB" >/dev/null 2>&1
  fi
done
echo "interrupted up ($LAB, seed $SEED): runs $N, interrupted $interrupted, finished before the signal $finished, leftovers $leftovers"
[ "$leftovers" = 0 ]
