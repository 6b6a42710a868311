#!/usr/bin/env bash
# Build the promlab-local/<name>:debian images from Debian packages, without any image
# registry: private apt state -> apt-get download -> dpkg -x -> minimal rootfs ->
# `tar | docker import`. See compose/images/README.md.
#
# Usage: compose/images/build-local.sh [--force] [NAME...]
#   NAME            one of the names listed by --list (default: all of them)
#   --force         rebuild images that already exist
#   --list          print the image names and exit
#   --print-mirror  print the Debian mirror the build would use and exit
#
# Environment:
#   PROMLAB_IMAGE_CACHE    cache dir (default ~/.cache/promlab/images): apt state, .debs, logs
#   PROMLAB_DEBIAN_MIRROR  Debian mirror (default: the first Debian archive in this host's
#                          apt sources: sources.list, sources.list.d/*.list and *.sources)
#   PROMLAB_APT_SOURCES_DIR where those apt sources are read (default /etc/apt)
#   PROMLAB_DEBIAN_SUITES  suites tried in order, per image (default "sid trixie")
#   PROMLAB_APT_MAX_AGE    seconds before the package lists are refreshed (default 21600)
#   PROMLAB_DEBIAN_KEYRING keyring that verifies the archive
#                          (default /usr/share/keyrings/debian-archive-keyring.gpg;
#                          when it is missing the archive is used unverified)
set -euo pipefail

readonly IMAGE_REPO=promlab-local
readonly IMAGE_TAG=debian
readonly ALL_IMAGES=(prometheus alertmanager node-exporter blackbox-exporter pushgateway
  victoriametrics nginx nginx-exporter redis redis-exporter)
# Packages only needed by maintainer scripts (users, debconf, init systems): never
# followed when resolving a dependency closure.
readonly DENY_PKGS="adduser debconf cdebconf debconf-2.0 init-system-helpers lsb-base
  sysvinit-utils passwd base-passwd login.defs perl-base dpkg systemd systemd-sysv ucf
  procps libpam-runtime"
readonly DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CACHE=${PROMLAB_IMAGE_CACHE:-${HOME:-/root}/.cache/promlab/images}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
MIRROR= # set by main: PROMLAB_DEBIAN_MIRROR, else debian_mirror
read -r -a SUITES <<<"${PROMLAB_DEBIAN_SUITES:-sid trixie}"
APT_MAX_AGE=${PROMLAB_APT_MAX_AGE:-21600}
KEYRING=${PROMLAB_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
PROG=$(basename "$0")

die() {
  echo "$PROG: $*" >&2
  exit 1
}

usage() {
  sed -n '5,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
}

# ---------------------------------------------------------------------------------------
# The Debian mirror: the host's own apt sources say which one is reachable from here
# ---------------------------------------------------------------------------------------

# Prints the Debian archive URIs of the apt sources under a folder, in apt's order:
# sources.list, then sources.list.d/*.list (one-line format: `deb [opts] URI suite comp...`)
# and sources.list.d/*.sources (deb822: `Types: deb`, `URIs: ...`; `Enabled: no` skipped).
apt_source_uris() { # dir
  local dir=$1 f
  local files=()
  [[ -r $dir/sources.list ]] && files+=("$dir/sources.list")
  for f in "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
    [[ -r $f ]] && files+=("$f")
  done
  ((${#files[@]})) || return 0
  awk '
    FNR == 1 { if (prev ~ /\.sources$/) stanza_end(); stanza_reset(); prev = FILENAME }
    function stanza_reset() { types = ""; uris = ""; enabled = "yes" }
    function stanza_end() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && uris != "") {
        n = split(uris, u, /[ \t]+/)
        for (i = 1; i <= n; i++) if (u[i] != "") print u[i]
      }
      stanza_reset()
    }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { stanza_end(); next }
      if ($0 ~ /^[ \t]*#/) next
      line = $0; sub(/^[ \t]+/, "", line)
      key = tolower(line); sub(/:.*/, "", key)
      val = line; sub(/^[^:]*:[ \t]*/, "", val)
      if (key == "types") types = val
      else if (key == "uris") uris = val
      else if (key == "enabled") enabled = val
      next
    }
    {
      sub(/#.*/, "")
      if ($1 != "deb") next
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if (i <= NF) print $i
    }
    END { if (prev ~ /\.sources$/) stanza_end() }
  ' "${files[@]}"
}

# The first Debian archive (a URI with a path segment `debian`: not debian-security, not
# another vendor's repository) of the apt sources under a folder, without a trailing slash.
debian_mirror() { # dir
  apt_source_uris "$1" | awk '{ sub(/\/+$/, "") } $0 ~ /^(https?|ftp|file):\/\/[^\/]+(\/.*)?\/debian(\/|$)/ { print; exit }'
}

# Sets MIRROR: PROMLAB_DEBIAN_MIRROR, else the host's apt sources; fails in one sentence.
choose_mirror() {
  local dir=${PROMLAB_APT_SOURCES_DIR:-/etc/apt}
  MIRROR=${PROMLAB_DEBIAN_MIRROR:-$(debian_mirror "$dir")}
  [[ -n $MIRROR ]] || die "no Debian archive found in the apt sources under $dir (sources.list, sources.list.d/*.list, sources.list.d/*.sources): set PROMLAB_DEBIAN_MIRROR to a Debian mirror URL reachable from here."
}

# ---------------------------------------------------------------------------------------
# Host architecture
# ---------------------------------------------------------------------------------------
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
case $ARCH in
  amd64) TRIPLET=x86_64-linux-gnu LOADER=ld-linux-x86-64.so.2 LOADER_DIR=lib64 ;;
  arm64) TRIPLET=aarch64-linux-gnu LOADER=ld-linux-aarch64.so.1 LOADER_DIR=lib ;;
  *) die "unsupported architecture '$ARCH' (amd64 and arm64 are supported)." ;;
esac

# ---------------------------------------------------------------------------------------
# Private apt state, one per suite, under $CACHE/apt/<suite>
# ---------------------------------------------------------------------------------------
apt_dir() { echo "$CACHE/apt/$1"; }

apt_setup() { # suite
  local d signed
  d=$(apt_dir "$1")
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/state" "$d/etc/apt.conf.d" \
    "$d/etc/sources.list.d" "$d/etc/preferences.d" "$d/log"
  [[ -e $d/state/status ]] || : >"$d/state/status"
  [[ -e $d/etc/apt.conf ]] || : >"$d/etc/apt.conf"
  if [[ -r $KEYRING ]]; then
    signed="signed-by=$KEYRING"
  else
    signed="trusted=yes"
  fi
  # Files are rewritten only when they change: apt rebuilds its cache when they are newer.
  write_if_changed "$d/etc/sources.list" <<<"deb [$signed] $MIRROR $1 main"
  # APT_CONFIG is read before any other configuration, so pointing Dir::Etc::Main and
  # Dir::Etc::Parts at private (empty) places keeps the machine's apt config out entirely.
  write_if_changed "$d/apt.conf" <<EOF
Dir::Etc::Main "$d/etc/apt.conf";
Dir::Etc::Parts "$d/etc/apt.conf.d";
Dir::Etc::SourceList "$d/etc/sources.list";
Dir::Etc::SourceParts "$d/etc/sources.list.d";
Dir::Etc::Preferences "$d/etc/preferences";
Dir::Etc::PreferencesParts "$d/etc/preferences.d";
Dir::State "$d/state";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/state/status";
Dir::Cache "$d/cache";
Dir::Log "$d/log";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Sandbox::User "root";
APT::Get::AllowUnauthenticated "false";
Acquire::Languages "none";
Acquire::Retries "3";
// Snapshot mirrors serve Release files past their Valid-Until: signatures are still checked.
Acquire::Check-Valid-Until "false";
EOF
}

write_if_changed() { # file < content
  local content
  content=$(cat)
  if [[ ! -f $1 || $(<"$1") != "$content" ]]; then
    printf '%s\n' "$content" >"$1"
  fi
}

apt_run() { # suite cmd args...
  local d
  d=$(apt_dir "$1")
  shift
  APT_CONFIG="$d/apt.conf" "$@"
}

# Refresh a suite's package lists when they are missing or older than APT_MAX_AGE.
# With old lists present, a failed refresh is only a warning (works offline with a cache).
declare -A APT_READY=()
apt_update() { # suite
  local suite=$1 d stamp now age
  [[ -n ${APT_READY[$suite]:-} ]] && return 0
  apt_setup "$suite"
  d=$(apt_dir "$suite")
  stamp="$d/updated"
  now=$(date +%s)
  age=$APT_MAX_AGE
  [[ -f $stamp ]] && age=$((now - $(stat -c %Y "$stamp")))
  if [[ ! -f $stamp || $age -ge $APT_MAX_AGE ]]; then
    if apt_run "$suite" apt-get -q update >"$d/log/update.log" 2>&1 &&
      ! grep -qE '^(W|E): ' "$d/log/update.log"; then
      touch "$stamp"
    elif [[ -f $stamp ]]; then
      echo "$PROG: warning: could not refresh the $suite package lists; using the old ones" >&2
    else
      sed 's/^/    /' "$d/log/update.log" >&2
      return 1
    fi
  fi
  APT_READY[$suite]=1
}

# Print the dependency closure (Depends + Pre-Depends, first alternative, DENY_PKGS cut
# off) of the given packages, one name a line. apt-cache prints the graph of every
# alternative; the walk from the roots that honours the rules above is done in awk.
resolve_closure() { # suite pkgs...
  local suite=$1 graph
  shift
  graph=$(apt_run "$suite" apt-cache depends --recurse --no-recommends --no-suggests \
    --no-conflicts --no-breaks --no-replaces --no-enhances "$@")
  awk -v deny="$DENY_PKGS" -v roots="$*" '
    # group g of package p: alternatives alt[p, g, 1..na[p, g]], providers prov[p, g, i]
    BEGIN { split(deny, d, /[ \n]+/); for (k in d) if (d[k] != "") denied[d[k]] = 1 }
    /^[^ ]/ { pkg = $1; sub(/^</, "", pkg); sub(/>$/, "", pkg); ng[pkg] += 0; open = 0; next }
    /^ [ |](Pre)?Depends: / {
      if (!open) { ng[pkg]++ }
      g = ng[pkg]; na[pkg, g]++; i = na[pkg, g]
      alt[pkg, g, i] = $2
      open = ($0 ~ /^ \|/)
      next
    }
    /^    [^ ]/ { if (ng[pkg] && !((pkg, g, i) in prov)) prov[pkg, g, i] = $1; next }
    END {
      n = split(roots, q, " "); head = 1
      for (k = 1; k <= n; k++) seen[q[k]] = 1
      while (head <= n) {
        p = q[head++]
        for (g = 1; g <= ng[p]; g++) {
          skip = 0; pick = ""
          for (i = 1; i <= na[p, g]; i++) {
            a = alt[p, g, i]; v = (a ~ /^</); gsub(/[<>]/, "", a)
            if (a in denied) skip = 1
            else if (pick == "" && !v) pick = a
            else if (pick == "" && v && ((p, g, i) in prov) && !(prov[p, g, i] in denied)) pick = prov[p, g, i]
          }
          if (!skip && pick != "" && !(pick in seen)) { seen[pick] = 1; q[++n] = pick }
        }
      }
      for (k = 1; k <= n; k++) print q[k]
    }' <<<"$graph" | sort
}

# Print "package version filename" for the candidate of each package, filename being the
# name `apt-get download` saves it under.
candidates() { # suite pkgs...
  local suite=$1
  shift
  apt_run "$suite" apt-cache show --no-all-versions "$@" |
    awk '/^Package: /{p=$2} /^Version: /{v=$2} /^Architecture: /{a=$2}
         /^$/ { if (p != "") { f = v; gsub(/:/, "%3a", f); print p, v, p "_" f "_" a ".deb" }; p = "" }
         END { if (p != "") { f = v; gsub(/:/, "%3a", f); print p, v, p "_" f "_" a ".deb" } }'
}

# Download the missing .debs into the suite's deb cache; stdin: the output of candidates.
download() { # suite
  local suite=$1 debs missing=() p f
  debs="$CACHE/debs/$suite"
  mkdir -p "$debs"
  while read -r p _ f; do
    [[ -s $debs/$f ]] || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  (cd "$debs" && apt_run "$suite" apt-get -q download "${missing[@]}")
}

# Extract a .deb once into $CACHE/x/<suite>/<deb name>; print that folder.
extract() { # suite debfile
  local dest tmp
  dest="$CACHE/x/$1/${2%.deb}"
  if [[ ! -d $dest ]]; then
    tmp="$dest.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    dpkg-deb -x "$CACHE/debs/$1/$2" "$tmp"
    mv "$tmp" "$dest"
  fi
  echo "$dest"
}

# ---------------------------------------------------------------------------------------
# Image definitions: each def_<name> sets the variables below; post_<name> ROOT TREE...
# (optional) adds files to the root filesystem.
# ---------------------------------------------------------------------------------------
reset_def() {
  PKGS=()       # packages; the first one's version is the image version
  BINS=()       # ELF files copied with the shared libraries they need
  DATA=()       # other paths copied as they are, from every package of the closure
  #               (a leading "?" marks a path that may be missing)
  LINKS=()      # "path:target" symlinks
  DIRS=()       # "path:uid:mode" directories
  ENTRYPOINT=() # exec form
  CMD=()
  RUN_USER=65534
  WORKDIR=/
  EXPOSE=()
  CHECKS=() # "entrypoint|arg arg ...": commands that must exit 0 inside the image
  EXTRA_USERS=()
}

def_prometheus() {
  PKGS=(prometheus promtool)
  BINS=(/usr/bin/prometheus /usr/bin/promtool)
  DATA=(/usr/share/prometheus/web/no-ui)
  DIRS=(/prometheus:65534:0755 /etc/prometheus:0:0755)
  ENTRYPOINT=(/usr/bin/prometheus)
  CMD=(--config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus)
  WORKDIR=/prometheus
  EXPOSE=(9090)
  CHECKS=("/usr/bin/prometheus|--version" "/usr/bin/promtool|--version"
    "/usr/bin/promtool|check config /etc/prometheus/prometheus.yml")
}
post_prometheus() {
  cat >"$1/etc/prometheus/prometheus.yml" <<'EOF'
# Default configuration of promlab-local/prometheus:debian (labs mount their own).
global:
  scrape_interval: 15s
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:9090"]
EOF
}

def_alertmanager() {
  PKGS=(prometheus-alertmanager tzdata)
  BINS=(/usr/bin/prometheus-alertmanager /usr/bin/amtool)
  DATA=(/usr/share/prometheus/alertmanager /usr/share/zoneinfo)
  LINKS=(/usr/bin/alertmanager:prometheus-alertmanager)
  DIRS=(/alertmanager:65534:0755 /etc/alertmanager:0:0755)
  ENTRYPOINT=(/usr/bin/alertmanager)
  CMD=(--config.file=/etc/alertmanager/alertmanager.yml --storage.path=/alertmanager)
  WORKDIR=/alertmanager
  EXPOSE=(9093)
  CHECKS=("/usr/bin/alertmanager|--version" "/bin/alertmanager|--version"
    "/usr/bin/amtool|--version"
    "/usr/bin/amtool|check-config /etc/alertmanager/alertmanager.yml")
}
post_alertmanager() {
  cat >"$1/etc/alertmanager/alertmanager.yml" <<'EOF'
# Default configuration of promlab-local/alertmanager:debian (labs mount their own).
route:
  receiver: default
  group_by: [alertname]
receivers:
  - name: default
EOF
}

def_node-exporter() {
  PKGS=(prometheus-node-exporter)
  BINS=(/usr/bin/prometheus-node-exporter)
  LINKS=(/usr/bin/node_exporter:prometheus-node-exporter)
  ENTRYPOINT=(/usr/bin/node_exporter)
  EXPOSE=(9100)
  CHECKS=("/usr/bin/node_exporter|--version")
}

def_blackbox-exporter() {
  PKGS=(prometheus-blackbox-exporter)
  BINS=(/usr/bin/prometheus-blackbox-exporter)
  LINKS=(/usr/bin/blackbox_exporter:prometheus-blackbox-exporter)
  DIRS=(/etc/blackbox_exporter:0:0755)
  ENTRYPOINT=(/usr/bin/blackbox_exporter)
  CMD=(--config.file=/etc/blackbox_exporter/config.yml)
  EXPOSE=(9115)
  CHECKS=("/usr/bin/blackbox_exporter|--version"
    "/usr/bin/blackbox_exporter|--config.check --config.file=/etc/blackbox_exporter/config.yml")
}
post_blackbox-exporter() {
  cat >"$1/etc/blackbox_exporter/config.yml" <<'EOF'
# Default configuration of promlab-local/blackbox-exporter:debian (labs mount their own).
modules:
  http_2xx:
    prober: http
    timeout: 5s
  tcp_connect:
    prober: tcp
    timeout: 5s
  dns:
    prober: dns
    dns:
      query_name: localhost
      query_type: A
EOF
}

def_pushgateway() {
  PKGS=(prometheus-pushgateway)
  BINS=(/usr/bin/prometheus-pushgateway)
  # The web UI is read from disk; its static links point into the libjs packages.
  DATA=(/usr/share/prometheus/pushgateway "?/usr/share/javascript" "?/usr/share/nodejs"
    "?/usr/share/fonts-glyphicons" "?/usr/share/fonts")
  LINKS=(/usr/bin/pushgateway:prometheus-pushgateway)
  DIRS=(/pushgateway:65534:0755)
  ENTRYPOINT=(/usr/bin/pushgateway)
  WORKDIR=/pushgateway
  EXPOSE=(9091)
  CHECKS=("/usr/bin/pushgateway|--version")
}

def_victoriametrics() {
  PKGS=(victoria-metrics)
  BINS=(/usr/bin/victoria-metrics) # single-node server only, not vmagent/vmalert/...
  LINKS=(/victoria-metrics-prod:usr/bin/victoria-metrics)
  DIRS=(/victoria-metrics-data:65534:0755 /storage:65534:0755)
  ENTRYPOINT=(/usr/bin/victoria-metrics)
  EXPOSE=(8428)
  CHECKS=("/usr/bin/victoria-metrics|-version")
}

def_nginx() {
  PKGS=(nginx nginx-common)
  BINS=(/usr/sbin/nginx)
  DATA=(/etc/nginx/mime.types /etc/nginx/fastcgi_params /etc/nginx/fastcgi.conf
    /etc/nginx/proxy_params /etc/nginx/scgi_params /etc/nginx/uwsgi_params
    /etc/nginx/conf.d /etc/nginx/modules-enabled)
  DIRS=(/etc/nginx:0:0755 /usr/share/nginx/html:0:0755 /var/lib/nginx:65534:0755
    /var/log/nginx:65534:0755 /run:0:1777 /var/cache/nginx:65534:0755)
  LINKS=(/var/log/nginx/access.log:/dev/stdout /var/log/nginx/error.log:/dev/stderr)
  ENTRYPOINT=(/usr/sbin/nginx)
  CMD=(-g "daemon off;")
  RUN_USER=0 # master as root (any listen port, `user` directive works); workers: nobody
  EXPOSE=(8080)
  EXTRA_USERS=("www-data:33" "nginx:101")
  CHECKS=("/usr/sbin/nginx|-V" "/usr/sbin/nginx|-t -q")
}
post_nginx() {
  cat >"$1/etc/nginx/nginx.conf" <<'EOF'
# Default configuration of promlab-local/nginx:debian (labs mount their own read-only).
# Run with: nginx -g 'daemon off;'
user nobody nogroup;
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;

events {
    worker_connections 1024;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;

    server {
        listen 8080;
        server_name _;

        location / {
            root /usr/share/nginx/html;
            index index.html;
        }

        location /stub_status {
            stub_status;
        }
    }
}
EOF
  cat >"$1/usr/share/nginx/html/index.html" <<'EOF'
<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>promlab-local/nginx:debian is serving this page.</p>
</body>
</html>
EOF
}

def_nginx-exporter() {
  PKGS=(prometheus-nginx-exporter)
  BINS=(/usr/bin/prometheus-nginx-exporter)
  LINKS=(/usr/bin/nginx-prometheus-exporter:prometheus-nginx-exporter)
  ENTRYPOINT=(/usr/bin/nginx-prometheus-exporter)
  EXPOSE=(9113)
  CHECKS=("/usr/bin/nginx-prometheus-exporter|--version")
}

def_redis() {
  PKGS=(redis-server redis-tools)
  BINS=(/usr/bin/redis-check-rdb /usr/bin/redis-cli)
  # redis-server is Debian's link to redis-check-rdb; the binary picks its mode from argv[0].
  LINKS=(/usr/bin/redis-server:redis-check-rdb)
  DIRS=(/data:65534:0755)
  ENTRYPOINT=(/usr/bin/redis-server)
  # The upstream image is built with protected mode off; without a config file Redis
  # would refuse clients from other containers.
  CMD=(--protected-mode no)
  WORKDIR=/data
  EXPOSE=(6379)
  CHECKS=("/usr/bin/redis-server|--version" "/usr/bin/redis-cli|--version")
}

def_redis-exporter() {
  PKGS=(prometheus-redis-exporter)
  BINS=(/usr/bin/prometheus-redis-exporter)
  LINKS=(/usr/bin/redis_exporter:prometheus-redis-exporter /redis_exporter:usr/bin/redis_exporter)
  ENTRYPOINT=(/usr/bin/redis_exporter)
  EXPOSE=(9121)
  CHECKS=("/usr/bin/redis_exporter|--version")
}

# ---------------------------------------------------------------------------------------
# Root filesystem assembly
# ---------------------------------------------------------------------------------------
# Copy a path (file, dir or link) from every tree that has it into ROOT, merging dirs.
copy_path() { # root path trees...
  local root=$1 path=$2 t found=0
  shift 2
  for t in "$@"; do
    if [[ -e $t$path || -L $t$path ]]; then
      mkdir -p "$root$(dirname "$path")"
      if [[ -d $t$path && ! -L $t$path ]]; then
        mkdir -p "$root$path"
        cp -a "$t$path/." "$root$path/"
      else
        cp -a "$t$path" "$root$path"
      fi
      found=1
    fi
  done
  ((found)) || {
    echo "path $path is in none of the packages" >&2
    return 1
  }
}

find_in_trees() { # path trees... -> first tree/path that exists
  local path=$1 t
  shift
  for t in "$@"; do
    if [[ -e $t$path ]]; then
      echo "$t$path"
      return 0
    fi
  done
  return 1
}

# Copy the shared libraries an ELF file needs (resolved by the suite's own loader against
# the closure's trees only) into ROOT/usr/lib/<triplet>.
copy_libs() { # root file loader libpath
  local root=$1 file=$2 loader=$3 libpath=$4 out name arrow path rest
  if ! out=$("$loader" --inhibit-cache --library-path "$libpath" --list "$file" 2>&1); then
    if grep -q 'not a dynamic executable' <<<"$out"; then
      return 0
    fi
    echo "$out" >&2
    return 1
  fi
  if grep -q 'not found' <<<"$out"; then
    echo "unresolved libraries for $file:" >&2
    grep 'not found' <<<"$out" >&2
    return 1
  fi
  while read -r name arrow path rest; do
    [[ $arrow == "=>" ]] || continue
    [[ $name == */* ]] && continue # the loader itself
    case $path in
      "$CACHE"/x/*) ;;
      *)
        echo "$name of $file resolved outside the package closure: $path" >&2
        return 1
        ;;
    esac
    [[ -e $root/usr/lib/$TRIPLET/$name ]] || cp -L "$path" "$root/usr/lib/$TRIPLET/$name"
  done <<<"$out"
}

write_accounts() { # root
  local root=$1 u name uid
  {
    echo "root:x:0:0:root:/root:/bin/sh"
    for u in "${EXTRA_USERS[@]}"; do
      name=${u%%:*} uid=${u##*:}
      echo "$name:x:$uid:$uid:$name:/nonexistent:/usr/sbin/nologin"
    done
    echo "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"
  } >"$root/etc/passwd"
  {
    echo "root:x:0:"
    for u in "${EXTRA_USERS[@]}"; do
      name=${u%%:*} uid=${u##*:}
      echo "$name:x:$uid:"
    done
    echo "nogroup:x:65534:"
    echo "nobody:x:65534:"
  } >"$root/etc/group"
  chmod 0644 "$root/etc/passwd" "$root/etc/group"
}

add_busybox() { # root trees...  (a shell and wget/nc, as the upstream busybox-based images)
  local root=$1 bb applet
  shift
  bb=$(find_in_trees /usr/bin/busybox "$@") || bb=$(find_in_trees /bin/busybox "$@") || {
    echo "busybox is missing from busybox-static" >&2
    return 1
  }
  cp -a "$bb" "$root/usr/bin/busybox"
  while read -r applet; do
    applet=${applet#/}
    case $applet in
      bin/* | sbin/*) applet=usr/$applet ;;
      usr/*/*) ;;
      *) continue ;; # linuxrc
    esac
    [[ -e $root/$applet || -L $root/$applet ]] && continue
    [[ -d $root/${applet%/*} ]] || mkdir -p "$root/${applet%/*}"
    ln -s /usr/bin/busybox "$root/$applet"
  done < <("$bb" --list-full)
}

assemble() { # suite root trees...
  local suite=$1 root=$2 t libc loader libpath f path target spec uid mode
  shift 2
  mkdir -p "$root"/{etc,tmp,root,usr/bin,usr/sbin,usr/lib/"$TRIPLET",var/tmp}
  mkdir -p "$root/usr/$LOADER_DIR"
  for t in bin sbin lib lib64; do
    [[ -e $root/usr/$t ]] || mkdir -p "$root/usr/$t"
    ln -s "usr/$t" "$root/$t"
  done
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"

  libpath=""
  for t in "$@"; do
    libpath+="$t/usr/lib/$TRIPLET:$t/lib/$TRIPLET:$t/usr/lib:$t/lib:"
  done
  libpath=${libpath%:}
  loader=$(find_in_trees "/usr/lib/$TRIPLET/$LOADER" "$@") ||
    loader=$(find_in_trees "/lib/$TRIPLET/$LOADER" "$@") ||
    loader=$(find_in_trees "/usr/$LOADER_DIR/$LOADER" "$@") ||
    loader=$(find_in_trees "/$LOADER_DIR/$LOADER" "$@") || {
    echo "the loader $LOADER is missing from libc6" >&2
    return 1
  }
  libc=$(find_in_trees "/usr/lib/$TRIPLET/libc.so.6" "$@") ||
    libc=$(find_in_trees "/lib/$TRIPLET/libc.so.6" "$@") || {
    echo "libc.so.6 is missing from libc6" >&2
    return 1
  }
  cp -L "$loader" "$root/usr/lib/$TRIPLET/$LOADER"
  cp -L "$libc" "$root/usr/lib/$TRIPLET/libc.so.6"
  if [[ ! -e $root/usr/$LOADER_DIR/$LOADER ]]; then
    ln -s "../lib/$TRIPLET/$LOADER" "$root/usr/$LOADER_DIR/$LOADER"
  fi

  for f in "${BINS[@]}"; do
    path=$(find_in_trees "$f" "$@") || {
      echo "$f is in none of the packages ${PKGS[*]}" >&2
      return 1
    }
    mkdir -p "$root$(dirname "$f")"
    cp -L "$path" "$root$f"
    copy_libs "$root" "$path" "$loader" "$libpath"
  done
  for f in "${DATA[@]}"; do
    if [[ $f == \?* ]]; then
      copy_path "$root" "${f#\?}" "$@" 2>/dev/null || true
    else
      copy_path "$root" "$f" "$@"
    fi
  done
  for spec in "${DIRS[@]}"; do
    IFS=: read -r path uid mode <<<"$spec"
    mkdir -p "$root$path"
    chown "$uid:$uid" "$root$path"
    chmod "$mode" "$root$path"
  done
  for spec in "${LINKS[@]}"; do
    path=${spec%%:*} target=${spec#*:}
    mkdir -p "$root$(dirname "$path")"
    rm -f "$root$path"
    ln -s "$target" "$root$path"
  done
  add_busybox "$root" "$@"

  write_accounts "$root"
  printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
  : >"$root/etc/hosts"
  : >"$root/etc/resolv.conf"
  echo "$IMAGE_REPO" >"$root/etc/hostname"
  printf 'PRETTY_NAME="promlab-local (Debian %s packages)"\nID=promlab-local\n' "$suite" \
    >"$root/etc/os-release"
  if declare -F "post_$NAME" >/dev/null; then
    "post_$NAME" "$root" "$@"
  fi
}

json_array() { # words... -> ["a","b"]
  local out="" w
  for w in "$@"; do
    w=${w//\\/\\\\}
    w=${w//\"/\\\"}
    out+="\"$w\","
  done
  echo "[${out%,}]"
}

# ---------------------------------------------------------------------------------------
# One image from one suite. Runs in a subshell with errexit; the current step is written
# to $STEP_FILE so that the caller can say where it failed.
# ---------------------------------------------------------------------------------------
step() {
  echo "$1" >"$STEP_FILE"
  echo "--- $1 (at $(date +%T.%N | cut -c1-12))" >&2
}

build_from_suite() { # suite
  local suite=$1 closure=() cands trees=() deb root building version pkgvers=""
  local changes=() p line check ep args out script
  step "refresh the $suite package lists"
  apt_update "$suite"

  step "resolve the dependency closure of ${PKGS[*]} in $suite"
  resolve_closure "$suite" "${PKGS[@]}" libc6 busybox-static >"$WORK/closure"
  mapfile -t closure <"$WORK/closure"
  echo "closure: ${closure[*]}" >&2
  cands=$(candidates "$suite" "${closure[@]}")
  if [[ $(wc -l <<<"$cands") -ne ${#closure[@]} ]]; then
    echo "apt-cache show did not describe every package of the closure" >&2
    return 1
  fi

  step "download the .debs of ${PKGS[*]} from $suite"
  download "$suite" <<<"$cands"

  step "extract the .debs"
  while read -r _ _ deb; do
    trees+=("$(extract "$suite" "$deb")")
  done <<<"$cands"
  version=""
  for p in "${PKGS[@]}"; do
    line=$(awk -v p="$p" '$1 == p { print $2 }' <<<"$cands")
    if [[ -z $line ]]; then
      echo "no version of $p in $suite" >&2
      return 1
    fi
    [[ -n $version ]] || version=$line
    pkgvers+="$p=$line "
  done
  echo "version: $version" >&2

  step "assemble the root filesystem"
  root="$WORK/rootfs"
  rm -rf "$root"
  mkdir -p "$root"
  assemble "$suite" "$root" "${trees[@]}"

  step "import the root filesystem into Docker"
  building="$IMAGE_REPO/$NAME:building"
  changes=(
    -c "ENTRYPOINT $(json_array "${ENTRYPOINT[@]}")"
    -c "USER $RUN_USER"
    -c "WORKDIR $WORKDIR"
    -c "ENV PATH=$DEFAULT_PATH"
    -c "LABEL org.opencontainers.image.version=\"$version\""
    -c "LABEL org.opencontainers.image.title=\"$NAME\""
    -c "LABEL org.opencontainers.image.description=\"promlab image built from Debian $suite packages\""
    -c "LABEL io.promlab.image=\"$NAME\""
    -c "LABEL io.promlab.debian-suite=\"$suite\""
    -c "LABEL io.promlab.debian-packages=\"${pkgvers% }\""
  )
  ((${#CMD[@]})) && changes+=(-c "CMD $(json_array "${CMD[@]}")")
  for p in "${EXPOSE[@]}"; do changes+=(-c "EXPOSE $p/tcp"); done
  tar -C "$root" --numeric-owner -c . | docker import "${changes[@]}" - "$building" >&2

  step "check that the binaries run inside the image"
  # The first check runs the binary directly (no shell); the others, and the loader's
  # view of every binary's libraries, run in one more container through busybox sh.
  script="set -e"
  for check in "${CHECKS[@]}"; do
    ep=${check%%|*}
    read -r -a args <<<"${check#*|}"
    if [[ $check == "${CHECKS[0]}" ]]; then
      echo "+ docker run --rm --entrypoint $ep $building ${args[*]}" >&2
      if ! out=$(docker run --rm --network none --entrypoint "$ep" "$building" "${args[@]}" 2>&1); then
        echo "$out" >&2
        echo "'$ep ${args[*]}' failed inside the image" >&2
        return 1
      fi
      head -n 3 <<<"$out" >&2
      continue
    fi
    script+=$'\n'"echo '+ $ep ${args[*]}'"
    script+=$'\n'"out=\$($(printf '%q ' "$ep" "${args[@]}")2>&1) || { echo \"\$out\"; echo 'failed: $ep ${args[*]}'; exit 1; }"
    script+=$'\n'"echo \"\$out\" | head -n 3"
  done
  for p in "${BINS[@]}"; do
    script+=$'\n'"out=\$(/$LOADER_DIR/$LOADER --list $p 2>&1) || { echo \"\$out\"; exit 1; }"
    script+=$'\n'"case \"\$out\" in *'not found'*) echo \"\$out\"; echo '$p: unresolved libraries'; exit 1;; esac"
  done
  echo "+ docker run --rm --entrypoint /bin/sh $building -c <checks>" >&2
  if ! docker run --rm --network none --entrypoint /bin/sh "$building" -c "$script" >&2; then
    echo "a check failed inside the image" >&2
    return 1
  fi

  step "tag the image"
  docker tag "$building" "$IMAGE_REPO/$NAME:$IMAGE_TAG"
  docker rmi "$building" >/dev/null
  printf '%s %s\n' "$version" "$suite" >"$WORK/result"
}

image_version() { # ref
  docker image inspect -f \
    '{{index .Config.Labels "org.opencontainers.image.version"}} {{index .Config.Labels "io.promlab.debian-suite"}}' \
    "$1" 2>/dev/null
}

build_image() { # name
  NAME=$1
  local ref="$IMAGE_REPO/$NAME:$IMAGE_TAG" start log suite rc old_id new_id tried=() result
  start=$(date +%s)
  if [[ $FORCE == 0 ]] && docker image inspect "$ref" >/dev/null 2>&1; then
    read -r -a result < <(image_version "$ref")
    printf '%-8s %-18s %-40s %s (%s)  %ss\n' skipped "$NAME" "$ref" "${result[0]:-?}" \
      "${result[1]:-?}" 0
    return 0
  fi
  reset_def
  "def_$NAME"
  old_id=$(docker image inspect -f '{{.Id}}' "$ref" 2>/dev/null || true)
  log="$CACHE/logs/$NAME.log"
  WORK="$CACHE/work/$NAME"
  STEP_FILE="$WORK/step"
  rm -rf "$WORK"
  mkdir -p "$WORK" "$CACHE/logs"
  : >"$log"
  for suite in "${SUITES[@]}"; do
    echo "=== $NAME from $suite" >>"$log"
    set +e
    (
      set -eE
      trap 'echo "command failed (exit $?): $BASH_COMMAND" >&2' ERR
      build_from_suite "$suite"
    ) >>"$log" 2>&1
    rc=$?
    set -e
    if ((rc == 0)); then
      break
    fi
    tried+=("$suite: $(cat "$STEP_FILE" 2>/dev/null || echo start)")
    docker rmi "$IMAGE_REPO/$NAME:building" >/dev/null 2>&1 || true
  done
  if ((rc != 0)); then
    local why
    why=$(printf '%s; ' "${tried[@]}")
    echo "$PROG: building $ref failed (${why%; }); see $log" >&2
    grep -vE '^(\+ |--- |=== )' "$log" | tail -n 8 | sed 's/^/    /' >&2
    exit 1
  fi
  read -r -a result <"$WORK/result"
  rm -rf "$WORK"
  new_id=$(docker image inspect -f '{{.Id}}' "$ref")
  if [[ -n $old_id && $old_id != "$new_id" ]]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
  fi
  printf '%-8s %-18s %-40s %s (%s)  %ss\n' built "$NAME" "$ref" "${result[0]}" "${result[1]}" \
    $(($(date +%s) - start))
}

main() {
  FORCE=0
  local names=() a n ok
  for a in "$@"; do
    case $a in
      --force | -f) FORCE=1 ;;
      --list)
        printf '%s\n' "${ALL_IMAGES[@]}"
        exit 0
        ;;
      --print-mirror)
        choose_mirror
        printf '%s\n' "$MIRROR"
        exit 0
        ;;
      -h | --help)
        usage
        exit 0
        ;;
      -*) die "unknown option '$a' (try --help)." ;;
      *)
        ok=0
        for n in "${ALL_IMAGES[@]}"; do [[ $n == "$a" ]] && ok=1; done
        ((ok)) || die "unknown image '$a'; known: ${ALL_IMAGES[*]}."
        names+=("$a")
        ;;
    esac
  done
  ((${#names[@]})) || names=("${ALL_IMAGES[@]}")
  choose_mirror

  local tool
  for tool in docker apt-get apt-cache dpkg-deb tar awk; do
    command -v "$tool" >/dev/null || die "the required command '$tool' is not installed."
  done
  # Image files need owners (root, 65534): dpkg-deb and chown must run as root.
  [[ $(id -u) == 0 ]] || die "run it as root (e.g. sudo make images): it sets file owners inside the images."
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed)."
  mkdir -p "$CACHE"
  # One build at a time per cache.
  if command -v flock >/dev/null; then
    exec 9>"$CACHE/.lock"
    flock -w 900 9 || die "another build-local.sh holds $CACHE/.lock."
  fi

  local total_start
  total_start=$(date +%s)
  for n in "${names[@]}"; do
    build_image "$n"
  done
  echo "done: ${#names[@]} image(s) in $(($(date +%s) - total_start))s"
}

main "$@"
