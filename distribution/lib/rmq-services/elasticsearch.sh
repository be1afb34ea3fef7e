# shellcheck shell=bash
# rmq-services: preparing, launching and checking Elasticsearch and the secured node.
#
# Sourced by distribution/bin/rmq-services (never run on its own): it reads the
# configuration variables that script sets and defines functions only.

# ---------------------------------------------------------------------------- elasticsearch
prepare_es() {
  ensure_es_zip
  if [[ ! -x $ES_HOME/bin/elasticsearch ]]; then
    local tmp=$ES_BASE/.unpack.$$
    rm -rf "$tmp" "$ES_HOME"
    mkdir -p "$tmp"
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$ES_ZIP" -d "$tmp"
    else
      (cd "$tmp" && "$ES_JDK/bin/jar" xf "$ES_ZIP")
      chmod +x "$tmp/elasticsearch-$ES_VERSION/bin/"*
    fi
    mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
    rm -rf "$tmp"
    chmod -R a+rX "$ES_HOME"
  fi
  if [[ ! -e $ES_CONF/elasticsearch.yml ]]; then
    mkdir -p "$ES_CONF"
    cp -a "$ES_HOME/config/." "$ES_CONF/"
  fi
  mkdir -p "$ES_DATA" "$ES_LOGS" "$ES_TMP" "$ES_RUN"
  # The service user owns what Elasticsearch writes (keystore in config, data, logs, tmp, pid).
  svc_own "$ES_CONF" "$ES_DATA" "$ES_LOGS" "$ES_TMP" "$ES_RUN"
  chmod a+rx "$STATE" "$STATE/elasticsearch" "$ES_BASE" "$RUN_DIR"
}

# Launch the Elasticsearch launcher in the background (-d: it exits once the node is up and
# writes the server's pid to $ES_PIDFILE).  Sets ES_LAUNCHER_PID.
launch_es() {
  printf '\n===== %s: starting Elasticsearch %s (Java %s at %s) =====\n' \
    "$(date -Is)" "$ES_VERSION" "$(jdk_major "$ES_JDK")" "$ES_JDK" >>"$ES_OUT"
  rm -f "$ES_PIDFILE"
  local -a as_user=()
  if is_root; then as_user=(runuser -u "$SVC_USER" --); fi
  (
    cd "$ES_LOGS" # gc.log and hs_err files land here
    exec setsid "${as_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
      ES_JAVA_HOME="$ES_JDK" ES_PATH_CONF="$ES_CONF" ES_TMPDIR="$ES_TMP" ES_JAVA_OPTS="$ES_JAVA_OPTS" \
      "$ES_HOME/bin/elasticsearch" -d -p "$ES_PIDFILE" \
      -Ediscovery.type=single-node \
      -Enetwork.host="$HOST" \
      -Ehttp.port="$ES_PORT" \
      -Etransport.port="$ES_TRANSPORT_PORT" \
      -Enode.name=rmq-services \
      -Epath.data="$ES_DATA" \
      -Epath.logs="$ES_LOGS" \
      -Expack.security.enabled=false \
      -Ecluster.routing.allocation.disk.threshold_enabled=false
  ) >>"$ES_OUT" 2>&1 </dev/null 9>&- & # fd 9 is the start/stop lock: not for the servers
  ES_LAUNCHER_PID=$!
}

es_healthy() {
  curl -fsS -m 10 "http://$HOST:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------- secured elasticsearch
# A second node with security on (RMQ_SERVICES_ES_SECURE=1): HTTPS with a certificate of our
# own CA, a file-realm user.  Same distribution as the first node; its own config, data, logs,
# tmp and pid dirs; cluster rmq-secure (single node).

es_secure_pid() {
  local pid
  pid=$(read_pid "$ES_SECURE_PIDFILE") || return 1
  cmdline_has "$pid" "$ES_MAIN" "-Djava.io.tmpdir=$ES_SECURE_TMP" && printf '%s\n' "$pid"
}

# Generate (once) the CA, the node's key and certificate (SAN IP:127.0.0.1, DNS:localhost)
# and the user's password under $ES_SECURE_SECRETS.
ensure_es_secure_secrets() {
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the certificates of the secured Elasticsearch node"
  mkdir -p "$ES_SECURE_SECRETS"
  chmod 755 "$ES_SECURE_SECRETS"
  local d=$ES_SECURE_SECRETS
  if [[ ! -s $d/ca.crt || ! -s $d/ca.key || ! -s $d/node.crt || ! -s $d/node.key ]]; then
    say "secured Elasticsearch: generating a CA and a node certificate in $d (once)"
    local tmp=$d/.gen.$$ log=$d/openssl.log
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (
      set -e
      umask 077
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -subj "/CN=rmq-services test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$tmp/ca.key" -out "$tmp/ca.crt"
      openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$tmp/node.key" -out "$tmp/node.csr"
      printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$tmp/node.ext"
      openssl x509 -req -sha256 -days 3650 -in "$tmp/node.csr" \
        -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -extfile "$tmp/node.ext" -out "$tmp/node.crt"
    ) >"$log" 2>&1 || {
      show_tail "$log"
      die "openssl could not make the certificates (log: $log)"
    }
    chmod 644 "$tmp/ca.crt" "$tmp/node.crt"
    chmod 600 "$tmp/ca.key" "$tmp/node.key"
    mv -f "$tmp/ca.key" "$tmp/ca.crt" "$tmp/node.key" "$tmp/node.crt" "$d/"
    rm -rf "$tmp"
  fi
  if [[ ! -s $ES_SECURE_PASSWORD_FILE ]]; then
    (
      umask 077
      openssl rand -hex 16 >"$ES_SECURE_PASSWORD_FILE.tmp"
    )
    mv -f "$ES_SECURE_PASSWORD_FILE.tmp" "$ES_SECURE_PASSWORD_FILE"
  fi
}

# Run an Elasticsearch CLI tool of the distribution against the secured node's config.
es_secure_tool() { # TOOL ARGS...
  local tool=$1
  shift
  local -a as_user=()
  if is_root; then as_user=(runuser -u "$SVC_USER" --); fi
  "${as_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    ES_JAVA_HOME="$ES_JDK" ES_PATH_CONF="$ES_SECURE_CONF" ES_TMPDIR="$ES_SECURE_TMP" \
    ES_JAVA_OPTS="-Xms64m -Xmx256m" "$ES_HOME/bin/$tool" "$@"
}

prepare_es_secure() {
  # The distribution is shared with the first node, prepared (and running) by now.
  if [[ ! -x $ES_HOME/bin/elasticsearch ]]; then prepare_es; fi
  ensure_es_secure_secrets
  if [[ ! -e $ES_SECURE_CONF/jvm.options ]]; then
    mkdir -p "$ES_SECURE_CONF"
    cp -a "$ES_HOME/config/." "$ES_SECURE_CONF/"
  fi
  mkdir -p "$ES_SECURE_CONF/certs" "$ES_SECURE_DATA" "$ES_SECURE_LOGS" "$ES_SECURE_TMP" "$ES_SECURE_RUN"
  # Elasticsearch reads TLS files only from inside its config dir.
  cp -f "$ES_SECURE_SECRETS/ca.crt" "$ES_SECURE_SECRETS/node.crt" "$ES_SECURE_SECRETS/node.key" \
    "$ES_SECURE_CONF/certs/"
  chmod 600 "$ES_SECURE_CONF/certs/node.key"
  # Regenerated on every start.  Explicit security settings also keep Elasticsearch from
  # auto-configuring security (enrollment, generated certificates) on its first start.
  cat >"$ES_SECURE_CONF/elasticsearch.yml" <<YML
# generated by $SELF: the secured node (RMQ_SERVICES_ES_SECURE=1)
cluster.name: $ES_SECURE_CLUSTER
node.name: rmq-services-secure
xpack.security.enabled: true
xpack.security.authc.api_key.enabled: true
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.key: certs/node.key
xpack.security.http.ssl.certificate: certs/node.crt
xpack.security.http.ssl.certificate_authorities: [certs/ca.crt]
xpack.security.transport.ssl.enabled: true
xpack.security.transport.ssl.verification_mode: certificate
xpack.security.transport.ssl.key: certs/node.key
xpack.security.transport.ssl.certificate: certs/node.crt
xpack.security.transport.ssl.certificate_authorities: [certs/ca.crt]
YML
  svc_own "$ES_SECURE_CONF" "$ES_SECURE_DATA" "$ES_SECURE_LOGS" "$ES_SECURE_TMP" "$ES_SECURE_RUN"
  chmod a+rx "$ES_SECURE_BASE"
  # The file-realm user (superuser role: it is for tests), with the generated password.
  local password
  password=$(<"$ES_SECURE_PASSWORD_FILE")
  if ! grep -q "^$ES_SECURE_USER:" "$ES_SECURE_CONF/users" 2>/dev/null ||
    [[ $ES_SECURE_PASSWORD_FILE -nt $ES_SECURE_CONF/users ]]; then
    es_secure_tool elasticsearch-users userdel "$ES_SECURE_USER" >/dev/null 2>&1 || true
    es_secure_tool elasticsearch-users useradd "$ES_SECURE_USER" -p "$password" -r superuser \
      >>"$ES_SECURE_OUT" 2>&1 || {
      show_tail "$ES_SECURE_OUT"
      die "elasticsearch-users could not add the user $ES_SECURE_USER"
    }
  fi
}

launch_es_secure() {
  printf '\n===== %s: starting the secured Elasticsearch %s (Java %s at %s) =====\n' \
    "$(date -Is)" "$ES_VERSION" "$(jdk_major "$ES_JDK")" "$ES_JDK" >>"$ES_SECURE_OUT"
  rm -f "$ES_SECURE_PIDFILE"
  local -a as_user=()
  if is_root; then as_user=(runuser -u "$SVC_USER" --); fi
  (
    cd "$ES_SECURE_LOGS"
    exec setsid "${as_user[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
      ES_JAVA_HOME="$ES_JDK" ES_PATH_CONF="$ES_SECURE_CONF" ES_TMPDIR="$ES_SECURE_TMP" \
      ES_JAVA_OPTS="$ES_SECURE_JAVA_OPTS" \
      "$ES_HOME/bin/elasticsearch" -d -p "$ES_SECURE_PIDFILE" \
      -Ediscovery.type=single-node \
      -Enetwork.host="$HOST" \
      -Ehttp.port="$ES_SECURE_PORT" \
      -Etransport.port="$ES_SECURE_TRANSPORT_PORT" \
      -Epath.data="$ES_SECURE_DATA" \
      -Epath.logs="$ES_SECURE_LOGS" \
      -Ecluster.routing.allocation.disk.threshold_enabled=false
  ) >>"$ES_SECURE_OUT" 2>&1 </dev/null 9>&- &
  ES_SECURE_LAUNCHER_PID=$!
}

# Answers over HTTPS, with our CA and user (the password goes through stdin, not argv).
es_secure_healthy() {
  [[ -s $ES_SECURE_CA && -s $ES_SECURE_PASSWORD_FILE ]] || return 1
  printf 'user = "%s:%s"\n' "$ES_SECURE_USER" "$(<"$ES_SECURE_PASSWORD_FILE")" |
    curl -fsS -m 10 -K - --cacert "$ES_SECURE_CA" \
      "https://$HOST:$ES_SECURE_PORT/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1
}

write_es_secure_env() {
  {
    printf '# generated by %s: the secured Elasticsearch node (RMQ_SERVICES_ES_SECURE=1)\n' "$SELF"
    printf 'ES_SECURE_URL=%q\n' "https://$HOST:$ES_SECURE_PORT"
    printf 'ES_SECURE_CA=%q\n' "$ES_SECURE_CA"
    printf 'ES_SECURE_USER=%q\n' "$ES_SECURE_USER"
    printf 'ES_SECURE_PASSWORD_FILE=%q\n' "$ES_SECURE_PASSWORD_FILE"
  } >"$ES_SECURE_ENV.tmp"
  mv -f "$ES_SECURE_ENV.tmp" "$ES_SECURE_ENV"
}

# Start the secured node unless it runs (idempotent) and wait until it answers over HTTPS.
# Called by cmd_start (holding the lock) after the shared services are up.
start_es_secure() {
  local t0=$SECONDS pid
  if es_secure_pid >/dev/null && es_secure_healthy; then
    write_es_secure_env
    return 0
  fi
  local avail_mb
  avail_mb=$(awk '/^MemAvailable:/ {print int($2 / 1024)}' /proc/meminfo 2>/dev/null || echo '')
  if [[ -n $avail_mb ]] && ((avail_mb < 1536)); then
    warn "only ${avail_mb} MiB of memory available; the secured Elasticsearch node needs about 1 GiB (heap: $ES_SECURE_JAVA_OPTS)"
  fi
  ES_SECURE_LAUNCHER_PID=''
  if ! es_secure_pid >/dev/null; then
    require_free_port "elasticsearch-secure" "$ES_SECURE_PORT"
    require_free_port "elasticsearch-secure transport" "$ES_SECURE_TRANSPORT_PORT"
    prepare_es_secure
    launch_es_secure
    say "started: elasticsearch-secure; waiting until it answers over HTTPS (up to ${START_TIMEOUT}s)"
  else
    prepare_es_secure # the user or password may have changed; the node reloads its users file
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  until es_secure_healthy; do
    if [[ -n $ES_SECURE_LAUNCHER_PID ]] && ! kill -0 "$ES_SECURE_LAUNCHER_PID" 2>/dev/null; then
      local rc=0
      wait "$ES_SECURE_LAUNCHER_PID" || rc=$?
      ES_SECURE_LAUNCHER_PID=''
      ((rc == 0)) || fail_start elasticsearch-secure "the Elasticsearch launcher exited with status $rc"
    fi
    if [[ -z $ES_SECURE_LAUNCHER_PID ]] && ! es_secure_pid >/dev/null; then
      fail_start elasticsearch-secure "the secured Elasticsearch node is not running"
    fi
    ((SECONDS < deadline)) || fail_start elasticsearch-secure "the secured Elasticsearch node did not answer over HTTPS within ${START_TIMEOUT}s"
    sleep 1
  done
  if [[ -n $ES_SECURE_LAUNCHER_PID ]]; then wait "$ES_SECURE_LAUNCHER_PID" 2>/dev/null || true; fi
  pid=$(es_secure_pid) || fail_start elasticsearch-secure "the secured node answers but its pid file $ES_SECURE_PIDFILE does not name it"
  write_es_secure_env
  say "elasticsearch-secure healthy after $((SECONDS - t0))s (pid $pid)"
}
