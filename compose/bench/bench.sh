#!/usr/bin/env bash
# Benchmark: `promlab up 1.1` vs `docker-compose up -d` + readiness polling, same stack,
# same images, alternating, N pairs; prints medians and the ratio to compose/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-5}
BIN=${BIN:-./target/release/promlab}
export PROMLAB_IMAGES=${PROMLAB_IMAGES:-compose/images.local.yaml}
export PROMLAB_HOME; PROMLAB_HOME=$(mktemp -d)
work=$(mktemp -d); trap 'docker-compose -p promlabbench -f "$work/compose.yaml" down -v >/dev/null 2>&1 || true; "$BIN" down 1.1 >/dev/null 2>&1 || true; "$BIN" down 1.8 >/dev/null 2>&1 || true; rm -rf "$work" "$PROMLAB_HOME"' EXIT
cp -r labs/01-fundamentals/1.1-what-is-prometheus/starter/. "$work/"
chmod -R a+rX "$work"
# The same stack, images resolved, for docker-compose (ports moved off promlab's).
sed -e "s|image: prometheus|image: $(grep '^  prometheus:' "$PROMLAB_IMAGES" | awk '{print $2}')|" \
    -e "s|image: node-exporter|image: $(grep '^  node-exporter:' "$PROMLAB_IMAGES" | awk '{print $2}')|" \
    -e 's|127.0.0.1:9090:9090|127.0.0.1:19090:9090|' -e 's|127.0.0.1:9100:9100|127.0.0.1:19100:9100|' \
    compose/stacks/base.yaml > "$work/compose.yaml"
now() { date +%s.%N; }
wait_url() { until curl -sf -o /dev/null "$1"; do sleep 0.02; done; }
p=(); c=()
for i in $(seq "$N"); do
  t0=$(now); "$BIN" up 1.1 --workspace "$work" >/dev/null; t1=$(now)
  p+=("$(echo "$t1 - $t0" | bc)"); "$BIN" down 1.1 >/dev/null
  t0=$(now); docker-compose -p promlabbench -f "$work/compose.yaml" up -d >/dev/null 2>&1
  wait_url http://127.0.0.1:19090/-/ready; wait_url http://127.0.0.1:19100/metrics; t1=$(now)
  c+=("$(echo "$t1 - $t0" | bc)"); docker-compose -p promlabbench -f "$work/compose.yaml" down -v >/dev/null 2>&1
done
# `check` on a satisfied lab: lab 1.1 with its solution applied, 20 runs.
"$BIN" up 1.1 --workspace "$work" >/dev/null
"$BIN" solve 1.1 >/dev/null || true
"$BIN" check 1.1 >/dev/null || true
k=()
for i in $(seq 20); do
  t0=$(now); "$BIN" check 1.1 >/dev/null; t1=$(now); k+=("$(echo "$t1 - $t0" | bc)")
done
checks=$(grep -c '^  - id:' labs/01-fundamentals/1.1-what-is-prometheus/lab.yaml)
rss_check=$( { /usr/bin/time -f '%M' "$BIN" check 1.1 >/dev/null; } 2>&1 | tail -1 )
"$BIN" down 1.1 >/dev/null
# The same on a lab with 10 checks (1.8: targets, exposition, queries, answers), in its own
# workspace; its solution computes the answers live.
work8=$(mktemp -d)
"$BIN" up 1.8 --workspace "$work8" >/dev/null
"$BIN" solve 1.8 >/dev/null || true
"$BIN" check 1.8 >/dev/null || true
k8=()
for i in $(seq 20); do
  t0=$(now); "$BIN" check 1.8 >/dev/null || echo "check 1.8 did not pass (run $i)" >&2
  t1=$(now); k8+=("$(echo "$t1 - $t0" | bc)")
done
checks8=$(grep -c '^  - id:' labs/01-fundamentals/1.8-prometheus-ecosystem/lab.yaml)
"$BIN" down 1.8 >/dev/null; rm -rf "$work8"
rss_up=$( { /usr/bin/time -f '%M' "$BIN" up 1.1 --workspace "$work" >/dev/null; } 2>&1 | tail -1 )
"$BIN" down 1.1 >/dev/null
# validate --all: with the default --jobs (4 stacks per core, at most 8), and with
# BENCH_VALIDATE_JOBS="2 …" also at those; each its own wall time and peak RSS.
# The default run's JSON report is kept as compose/bench/validate-times.json: the recorded
# phase times `validate --partition` balances by; its slowest labs and phases and the waits
# summed over all phases (`validate --merge` of the one report) go into results.md.
vlines=(); rss_validate=0; vtables=""
if [ "${BENCH_VALIDATE:-1}" = 1 ]; then
  for j in default ${BENCH_VALIDATE_JOBS:-}; do
    args=(validate --all --json); [ "$j" = default ] || args+=(--jobs "$j")
    # Per validated lab: online-only labs are skipped where their images cannot be pulled.
    labs=$(grep -L "^online_only:" labs/*/*/lab.yaml | wc -l)
    vstart=$(now)
    rss=$( { /usr/bin/time -f '%M' "$BIN" "${args[@]}" >"$work/validate-$j.json" 2>/dev/null; } 2>&1 | tail -1 )
    vsecs=$(echo "$(now) - $vstart" | bc)
    [ "$rss" -gt "$rss_validate" ] && rss_validate=$rss
    vlines+=("| promlab validate --all --jobs $j (wall, $labs labs: $(echo "scale=1; $vsecs / $labs" | bc) s per lab) | $vsecs | 1 run |")
    if [ "$j" = default ]; then
      cp "$work/validate-$j.json" compose/bench/validate-times.json
      vtables=$("$BIN" validate --merge compose/bench/validate-times.json || true)
    fi
  done
fi
# Interrupted `up`s (compose/bench/interrupts.sh, 50 runs of `up 4.1 --fresh` hit by SIGINT or
# SIGTERM at random instants): runs and leftovers. BENCH_INTERRUPTS=0 skips it.
iline=""
if [ "${BENCH_INTERRUPTS:-1}" = 1 ]; then
  iline=$(BIN="$BIN" bash compose/bench/interrupts.sh | tail -1)
fi
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${p[@]}"); mc=$(median "${c[@]}")
ratio=$(echo "scale=2; $mp / $mc" | bc)
mk=$(median "${k[@]}")
mk8=$(median "${k8[@]}")
{
  echo "# promlab benchmarks ($(date -u +%F), $(nproc) cores)"
  echo
  echo "| what | median (s) | runs |"
  echo "|---|---|---|"
  echo "| promlab up 1.1 (until every service is ready) | $mp | ${p[*]} |"
  echo "| docker-compose up -d + readiness polling, same stack and images | $mc | ${c[*]} |"
  echo "| ratio promlab / compose | $ratio | |"
  echo "| promlab check on a satisfied lab (1.1, $checks checks, all pass) | $mk | 20 runs |"
  echo "| promlab check on a satisfied lab (1.8, $checks8 checks, all pass) | $mk8 | 20 runs |"
  for l in "${vlines[@]}"; do echo "$l"; done
  [ -z "$iline" ] || { echo; echo "$iline"; }
  [ -z "$vtables" ] || { echo; echo '```'; echo "$vtables"; echo '```'; }
  echo
  echo "Peak RSS of the CLI: up $((rss_up / 1024)) MB, check $((rss_check / 1024)) MB, validate --all $((rss_validate / 1024)) MB."
} | tee compose/bench/results.md
