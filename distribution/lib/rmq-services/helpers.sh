# shellcheck shell=bash
# rmq-services: messages, JDK selection, pid and port checks, Maven and cache helpers.
#
# Sourced by distribution/bin/rmq-services (never run on its own): it reads the
# configuration variables that script sets and defines functions only.

# ---------------------------------------------------------------------------- helpers
say() { printf '%s: %s\n' "$SELF" "$*"; }
warn() { printf '%s: warning: %s\n' "$SELF" "$*" >&2; }
die() {
  printf '%s: error: %s\n' "$SELF" "$*" >&2
  exit 1
}

# Print the last lines of each existing file given.
show_tail() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

is_root() { [[ $EUID -eq 0 ]]; }

ensure_svc_user() {
  is_root || return 0
  if ! id -u "$SVC_USER" >/dev/null 2>&1; then
    say "creating system user $SVC_USER (Elasticsearch refuses to run as root)"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --user-group "$SVC_USER" 2>/dev/null ||
      id -u "$SVC_USER" >/dev/null 2>&1 || die "could not create user $SVC_USER"
  fi
}

# Owned by the service user (no-op when not root).
svc_own() {
  is_root || return 0
  chown -R "$SVC_USER:" "$@"
}

# Raise the open-files limit (inherited by the servers; best effort: Elasticsearch only warns
# below 65535 on loopback, and containers often forbid raising the hard limit).
raise_nofile() {
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# Major Java version of a JDK home (from its release file, else `java -version`).
jdk_major() {
  local home=$1 v=''
  [[ -x $home/bin/java ]] || return 1
  if [[ -r $home/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")
  fi
  if [[ -z $v ]]; then
    v=$("$home/bin/java" -version 2>&1 | sed -n '1s/.*version "\([^"]*\)".*/\1/p')
  fi
  v=${v#1.}
  v=${v%%[.+-]*}
  [[ $v =~ ^[0-9]+$ ]] || return 1
  printf '%s\n' "$v"
}

# find_jdk MIN PREFERRED: print a JDK home under $JVM_DIR with major >= MIN; one with
# major == PREFERRED wins, else the newest.  Symlinked duplicates are skipped.
find_jdk() {
  local min=$1 preferred=$2 d real major best='' best_major=0
  local -A seen=()
  for d in "$JVM_DIR"/*/; do
    real=$(readlink -f "$d") || continue
    [[ -z ${seen[$real]:-} ]] || continue
    seen[$real]=1
    major=$(jdk_major "$real") || continue
    ((major >= min)) || continue
    if ((major == preferred)); then
      printf '%s\n' "$real"
      return 0
    fi
    if ((major > best_major)); then
      best=$real
      best_major=$major
    fi
  done
  [[ -n $best ]] || return 1
  printf '%s\n' "$best"
}

list_jdks() {
  local d n=0
  for d in "$JVM_DIR"/*/; do
    [[ -x ${d}bin/java ]] || continue
    printf '  %s (Java %s)\n' "${d%/}" "$(jdk_major "${d%/}" || echo '?')"
    n=$((n + 1))
  done
  ((n)) || printf '  (no JDK there)\n'
}

es_min_java() {
  local major=${ES_VERSION%%.*}
  if ((major >= 9)); then echo 21; else echo 17; fi
}

select_es_jdk() {
  local min
  min=$(es_min_java)
  if [[ -n ${RMQ_SERVICES_ES_JAVA_HOME:-} ]]; then
    ES_JDK=$RMQ_SERVICES_ES_JAVA_HOME
    [[ -x $ES_JDK/bin/java ]] || die "RMQ_SERVICES_ES_JAVA_HOME=$ES_JDK has no bin/java"
    return 0
  fi
  # Prefer the newest JDK (Elasticsearch 9.x is built and tested on the newest LTS).
  ES_JDK=$(find_jdk "$min" 0) || die "Elasticsearch $ES_VERSION needs a JDK >= $min, none found under $JVM_DIR:
$(list_jdks)
Install one (e.g. Temurin 25 in /usr/lib/jvm/temurin-25-jdk-amd64), set RMQ_SERVICES_ES_JAVA_HOME, or use RMQ_SERVICES_ES_VERSION=8.19.21 (Java 17)."
}

select_rmq_jdk() {
  if [[ -n ${RMQ_SERVICES_ROCKETMQ_JAVA_HOME:-} ]]; then
    RMQ_JDK=$RMQ_SERVICES_ROCKETMQ_JAVA_HOME
    [[ -x $RMQ_JDK/bin/java ]] || die "RMQ_SERVICES_ROCKETMQ_JAVA_HOME=$RMQ_JDK has no bin/java"
    return 0
  fi
  RMQ_JDK=$(find_jdk 11 17) || die "RocketMQ needs a JDK (Java 17 preferred), none found under $JVM_DIR:
$(list_jdks)
Install openjdk-17-jdk-headless or set RMQ_SERVICES_ROCKETMQ_JAVA_HOME."
  local major
  major=$(jdk_major "$RMQ_JDK")
  if [[ $major != 17 ]]; then warn "no Java 17 found, running RocketMQ on Java $major ($RMQ_JDK)"; fi
}

# cmdline_has PID NEEDLE...: the process exists and its command line contains every needle.
cmdline_has() {
  local pid=$1 cmd
  shift
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ -n $cmd ]] || return 1
  local needle
  for needle in "$@"; do
    [[ $cmd == *"$needle"* ]] || return 1
  done
}

read_pid() { [[ -r $1 ]] && tr -dc '0-9' <"$1"; }

# Pid of a service if its pid file names a live process that is ours, else nothing (exit 1).
es_pid() {
  local pid
  pid=$(read_pid "$ES_PIDFILE") || return 1
  cmdline_has "$pid" "$ES_MAIN" "-Des.path.home=$STATE/elasticsearch/" && printf '%s\n' "$pid"
}
namesrv_pid() {
  local pid
  pid=$(read_pid "$NAMESRV_PIDFILE") || return 1
  cmdline_has "$pid" "$NAMESRV_MAIN" "$NAMESRV_CONF" && printf '%s\n' "$pid"
}
broker_pid() {
  local pid
  pid=$(read_pid "$BROKER_PIDFILE") || return 1
  cmdline_has "$pid" "$BROKER_MAIN" "$BROKER_CONF" && printf '%s\n' "$pid"
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# Who listens on a TCP port (for error messages).
port_owner() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$1" 2>/dev/null | awk '{print $4, $6}' | head -n 3
  fi
}

# Local addresses a pid listens on (TCP), space separated.
listen_addrs() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp 2>/dev/null | awk -v p="pid=$1," 'index($0, p) {print $4}' | sort -u | tr '\n' ' '
}

rss_mb() { ps -o rss= -p "$1" 2>/dev/null | awk '{printf "%d MiB", $1 / 1024}'; }

require_free_port() { # NAME PORT
  if port_open "$HOST" "$2"; then
    die "$1: port $2 is already in use by another process (not started by $SELF):
$(port_owner "$2")"
  fi
}

# mvn_run_quiet LOGFILE ARGS...: run Maven (batch, no progress), output to LOGFILE.
mvn_run_quiet() {
  local logfile=$1
  shift
  command -v mvn >/dev/null 2>&1 || die "mvn (Apache Maven) is needed to download the servers"
  mkdir -p "${logfile%/*}"
  mvn -B -ntp "$@" >"$logfile" 2>&1
}

mvn_fail() {
  show_tail "$1"
  die "Maven download failed (full log: $1)"
}

# zip_cat ZIP ENTRY: print one entry of a zip file (unzip, else the JDK's jar tool).
zip_cat() {
  if command -v unzip >/dev/null 2>&1; then
    unzip -p "$1" "$2"
  else
    local d
    d=$(mktemp -d)
    (cd "$d" && "$ES_JDK/bin/jar" xf "$1" "$2") && cat "$d/$2"
    rm -rf "$d"
  fi
}

with_cache_lock() {
  mkdir -p "$CACHE"
  (
    flock -w 900 8 || die "timed out waiting for the download lock $CACHE/.lock"
    "$@"
  ) 8>"$CACHE/.lock"
}
