#!/usr/bin/env bash
# Smoke-test the promlab-local/<name>:debian images built by build-local.sh: start each
# service on a user-defined network with a read-only mounted config, and check it answers
# by service name from another container (busybox wget inside the images).
#
# Usage: compose/images/smoke-test.sh
# Every container and network it creates is removed on exit, also on failure or Ctrl-C.
set -euo pipefail

readonly REPO=promlab-local
readonly TAG=debian
readonly TIMEOUT=${PROMLAB_SMOKE_TIMEOUT:-30} # seconds a service gets to answer
PREFIX="promlab-smoke-$$"
NET="$PREFIX-net"
CONTAINERS=()
NETWORK_CREATED=0
TMP=""
PASSED=0
FAILED=0

cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do
    docker rm -f "$c" >/dev/null 2>&1 || true
  done
  if ((NETWORK_CREATED)); then
    docker network rm "$NET" >/dev/null 2>&1 || true
  fi
  [[ -n $TMP ]] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

img() { echo "$REPO/$1:$TAG"; }

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok    %s\n' "$1"
}

fail() { # what [container]
  FAILED=$((FAILED + 1))
  printf 'FAIL  %s\n' "$1"
  if [[ -n ${2:-} ]]; then
    echo "      last log lines of $2:"
    docker logs --tail 15 "$2" 2>&1 | sed 's/^/      | /'
  fi
}

# Start a detached container named $PREFIX-<name> on the network; records it for cleanup.
start() { # name docker-run-args...
  local name="$PREFIX-$1"
  shift
  CONTAINERS+=("$name")
  docker run -d --name "$name" --network "$NET" --network-alias "${name#"$PREFIX"-}" \
    --label io.promlab.smoke=true "$@" >/dev/null
}

# GET a URL from the client container; prints the body.
get() { # url
  docker exec "$PREFIX-client" wget -q -T 3 -O - "$1" 2>/dev/null
}

# Poll URL until its body matches the extended regexp (or TIMEOUT).
wait_for() { # url regexp
  local deadline=$((SECONDS + TIMEOUT)) body
  while ((SECONDS < deadline)); do
    if body=$(get "$1") && grep -qE "$2" <<<"$body"; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

check_url() { # description container url regexp
  if wait_for "$3" "$4"; then
    pass "$1"
  else
    fail "$1 ($3 did not match '$4' within ${TIMEOUT}s)" "$2"
  fi
}

check_cmd() { # description command...
  local out
  if out=$("${@:2}" 2>&1); then
    pass "$1: $(head -n 1 <<<"$out")"
  else
    fail "$1"
    tail -n 10 <<<"$out" | sed 's/^/      | /'
  fi
}

main() {
  local name missing=()
  for name in prometheus alertmanager node-exporter blackbox-exporter pushgateway \
    victoriametrics nginx nginx-exporter redis redis-exporter; do
    docker image inspect "$(img "$name")" >/dev/null 2>&1 || missing+=("$name")
  done
  if ((${#missing[@]})); then
    echo "smoke-test.sh: images missing (${missing[*]}); run compose/images/build-local.sh first." >&2
    exit 1
  fi

  TMP=$(mktemp -d)
  chmod 0755 "$TMP"
  cat >"$TMP/prometheus.yml" <<'EOF'
global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["alertmanager:9093"]
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
  - job_name: node
    static_configs:
      - targets: ["node-exporter:9100"]
  - job_name: redis
    static_configs:
      - targets: ["redis-exporter:9121"]
EOF
  cat >"$TMP/alertmanager.yml" <<'EOF'
route:
  receiver: "null"
receivers:
  - name: "null"
EOF
  cat >"$TMP/nginx.conf" <<'EOF'
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 64; }
http {
    access_log /dev/stdout;
    server {
        listen 8080;
        location / { return 200 "hello from smoke nginx\n"; }
        location /stub_status { stub_status; }
    }
}
EOF
  chmod 0644 "$TMP"/*

  docker network create --label io.promlab.smoke=true "$NET" >/dev/null
  NETWORK_CREATED=1

  # A client to reach services by name: busybox sleep + wget inside one of the images.
  start client --entrypoint /bin/sleep "$(img node-exporter)" 600

  start prometheus -v "$TMP/prometheus.yml:/etc/prometheus/prometheus.yml:ro" \
    "$(img prometheus)" --config.file=/etc/prometheus/prometheus.yml \
    --storage.tsdb.path=/prometheus --web.enable-lifecycle
  start alertmanager -v "$TMP/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" \
    "$(img alertmanager)" --config.file=/etc/alertmanager/alertmanager.yml \
    --storage.path=/alertmanager
  start node-exporter "$(img node-exporter)"
  start blackbox-exporter "$(img blackbox-exporter)"
  start pushgateway "$(img pushgateway)"
  start victoriametrics "$(img victoriametrics)" -storageDataPath=/victoria-metrics-data
  start nginx -v "$TMP/nginx.conf:/etc/nginx/nginx.conf:ro" "$(img nginx)" -g 'daemon off;'
  start nginx-exporter "$(img nginx-exporter)" --nginx.scrape-uri=http://nginx:8080/stub_status
  start redis "$(img redis)" --protected-mode no --save ''
  start redis-exporter "$(img redis-exporter)" --redis.addr=redis://redis:6379

  check_url "prometheus answers /-/ready" "$PREFIX-prometheus" \
    http://prometheus:9090/-/ready 'Ready'
  check_cmd "promtool runs (docker run --entrypoint promtool)" \
    docker run --rm --network none --entrypoint /usr/bin/promtool "$(img prometheus)" --version
  check_cmd "promtool check config by docker exec" \
    docker exec "$PREFIX-prometheus" promtool check config /etc/prometheus/prometheus.yml
  check_url "alertmanager answers /-/ready" "$PREFIX-alertmanager" \
    http://alertmanager:9093/-/ready 'OK'
  check_cmd "amtool runs" \
    docker run --rm --network none --entrypoint /usr/bin/amtool "$(img alertmanager)" --version
  check_cmd "amtool adds an alert" docker exec "$PREFIX-alertmanager" \
    amtool --alertmanager.url=http://localhost:9093 alert add smoke_test severity=none
  check_url "alertmanager lists the alert" "$PREFIX-alertmanager" \
    http://alertmanager:9093/api/v2/alerts 'smoke_test'
  check_url "node-exporter serves /metrics" "$PREFIX-node-exporter" \
    http://node-exporter:9100/metrics '^node_exporter_build_info'
  check_url "prometheus scrapes node-exporter (up == 1)" "$PREFIX-prometheus" \
    'http://prometheus:9090/api/v1/query?query=up%7Bjob%3D%22node%22%7D' '"value":\[[0-9.]+,"1"\]'
  check_url "prometheus sees alertmanager" "$PREFIX-prometheus" \
    http://prometheus:9090/api/v1/alertmanagers '"activeAlertmanagers":\[\{'
  check_url "nginx serves a page on 8080 (read-only mounted config)" "$PREFIX-nginx" \
    http://nginx:8080/ 'hello from smoke nginx'
  check_url "nginx stub_status" "$PREFIX-nginx" \
    http://nginx:8080/stub_status 'Active connections'
  check_url "nginx-exporter reads stub_status (nginx_up 1)" "$PREFIX-nginx-exporter" \
    http://nginx-exporter:9113/metrics '^nginx_up 1'
  check_cmd "redis answers PING (redis-cli)" docker exec "$PREFIX-redis" redis-cli ping
  check_url "redis-exporter scrapes redis (redis_up 1)" "$PREFIX-redis-exporter" \
    http://redis-exporter:9121/metrics '^redis_up 1'
  check_url "prometheus scrapes redis-exporter (redis_up == 1)" "$PREFIX-prometheus" \
    'http://prometheus:9090/api/v1/query?query=redis_up' '"value":\[[0-9.]+,"1"\]'
  check_url "blackbox-exporter probes prometheus (probe_success 1)" "$PREFIX-blackbox-exporter" \
    'http://blackbox-exporter:9115/probe?module=http_2xx&target=http://prometheus:9090/-/ready' \
    '^probe_success 1'
  check_url "pushgateway answers /-/ready" "$PREFIX-pushgateway" \
    http://pushgateway:9091/-/ready 'OK'
  check_cmd "push a metric to pushgateway" docker exec "$PREFIX-client" sh -c \
    'printf "smoke_pushed 42\n" >/tmp/m && wget -q -T 3 -O - --post-file=/tmp/m http://pushgateway:9091/metrics/job/smoke && echo pushed'
  check_url "pushgateway keeps a pushed metric" "$PREFIX-pushgateway" \
    http://pushgateway:9091/metrics '^smoke_pushed\{.*\} 42'
  check_url "pushgateway web UI" "$PREFIX-pushgateway" http://pushgateway:9091/ 'Pushgateway'
  check_url "victoriametrics answers /health" "$PREFIX-victoriametrics" \
    http://victoriametrics:8428/health 'OK'
  check_url "victoriametrics serves /metrics" "$PREFIX-victoriametrics" \
    http://victoriametrics:8428/metrics '^vm_app_version'

  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
}

main "$@"
