#!/usr/bin/env bash
# Try a school deployment on one machine: N aiart replicas behind nginx, the live vote on PostgreSQL.
#
#   deploy/tryout.sh [N]          # N replicas (default 3), then open http://localhost:8080
#
# Environment: PORT (nginx's port, 8080), REPLICA_PORT (the first replica's port, 8601; the others
# follow), AIART_CLASSROOM_DB (a postgresql:// URL; unset, a throwaway PostgreSQL is started in the
# run folder), AIART_PUBLIC_URL (the address phones join at; default nginx on this machine's network
# address), AIART_TEACHER_TOKEN (the teacher link's token, one for all replicas; default a new one),
# RUN_DIR (logs, pid files, configs; default a new folder under /tmp). Everything started here
# stops on Ctrl-C or SIGTERM. Debian packages: nginx, postgresql (scripts/test.sh
# installs them). For real machines, see README.md, "A whole school on one deployment".
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-3}
PORT=${PORT:-8080}
REPLICA_PORT=${REPLICA_PORT:-8601}
RUN=${RUN_DIR:-$(mktemp -d /tmp/aiart-tryout-XXXXXX)}
PY=.venv/bin/python
mkdir -p "$RUN"
chmod 755 "$RUN"

AS=()  # PostgreSQL refuses to run as root: run it as the postgres user then
if [ "$(id -u)" = 0 ]; then AS=(runuser -u postgres --); fi
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

stop_all() {
  trap - EXIT INT TERM
  for pidfile in "$RUN"/replica-*.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  [ -f "$RUN/nginx.pid" ] && kill -QUIT "$(cat "$RUN/nginx.pid")" 2>/dev/null || true
  if [ -d "$RUN/pg" ]; then "${AS[@]}" "$PG_BIN/pg_ctl" -D "$RUN/pg" -m fast -w stop >/dev/null || true; fi
  wait
}
trap stop_all EXIT INT TERM

wait_for() {  # wait_for URL: until it answers 200 (180 s at most)
  "$PY" - "$1" <<'PYEOF'
import sys, time, urllib.request
deadline = time.monotonic() + 180
while True:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"{sys.argv[1]} did not answer")
    time.sleep(0.5)
PYEOF
}

if [ -z "${AIART_CLASSROOM_DB:-}" ]; then
  [ -n "$PG_BIN" ] || { echo "PostgreSQL is missing: apt-get install postgresql" >&2; exit 1; }
  PG_PORT=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  [ ${#AS[@]} = 0 ] || chown postgres "$RUN"
  "${AS[@]}" "$PG_BIN/initdb" -D "$RUN/pg" -U aiart --auth=trust --no-instructions >"$RUN/initdb.log"
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$RUN/pg" -l "$RUN/postgresql.log" -w \
    -o "-p $PG_PORT -k $RUN -c listen_addresses=127.0.0.1" start >/dev/null
  export AIART_CLASSROOM_DB="postgresql://aiart@127.0.0.1:$PG_PORT/postgres"  # trust: a local try-out only
fi

# Every replica: phones join through nginx, and one teacher link works whichever replica answers.
HOST=$(hostname -I 2>/dev/null | awk '{print $1}')
export AIART_PUBLIC_URL=${AIART_PUBLIC_URL:-http://${HOST:-127.0.0.1}:$PORT}
AIART_TEACHER_TOKEN=${AIART_TEACHER_TOKEN:-$("$PY" -c "import secrets; print(secrets.token_urlsafe(18))")}
export AIART_TEACHER_TOKEN
# One cookie secret for all replicas, so any replica accepts a browser's cookies (Streamlit takes it from the environment).
STREAMLIT_SERVER_COOKIE_SECRET=$("$PY" -c "import secrets; print(secrets.token_urlsafe(32))")
export STREAMLIT_SERVER_COOKIE_SECRET
SERVERS=""
for i in $(seq 1 "$N"); do
  port=$((REPLICA_PORT + i - 1))
  TF_CPP_MIN_LOG_LEVEL=2 "$PY" -m streamlit run streamlit_app.py --server.port "$port" --server.address 127.0.0.1 \
    --server.headless true --browser.gatherUsageStats false \
    >"$RUN/replica-$i.log" 2>&1 &
  echo $! >"$RUN/replica-$i.pid"
  SERVERS+="    server 127.0.0.1:$port max_fails=1 fail_timeout=10s;\n"
done

# deploy/nginx.conf with this run's replicas and port, inside a minimal main config of its own.
sed -e '/^    server 127\.0\.0\.1:86..*;$/d' -e "s|^    hash \$aiart_replica consistent;|&\n$SERVERS|" \
  -e "s|^    listen 8080;|    listen $PORT;|" deploy/nginx.conf >"$RUN/aiart.conf"
mkdir -p "$RUN/nginx-tmp" && chmod 1777 "$RUN/nginx-tmp"
cat >"$RUN/nginx.conf" <<NGINX
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log;
events {}
http {
    access_log $RUN/nginx-access.log;
    client_body_temp_path $RUN/nginx-tmp/body;
    proxy_temp_path $RUN/nginx-tmp/proxy;
    fastcgi_temp_path $RUN/nginx-tmp/fastcgi;
    uwsgi_temp_path $RUN/nginx-tmp/uwsgi;
    scgi_temp_path $RUN/nginx-tmp/scgi;
    include $RUN/aiart.conf;
}
NGINX
nginx -t -q -c "$RUN/nginx.conf" -g "daemon off;"
nginx -c "$RUN/nginx.conf" -g "daemon off;" &

for i in $(seq 1 "$N"); do wait_for "http://127.0.0.1:$((REPLICA_PORT + i - 1))/_stcore/health"; done
wait_for "http://127.0.0.1:$PORT/_stcore/health"
echo "ready: $AIART_PUBLIC_URL ($N replicas on ports $REPLICA_PORT-$((REPLICA_PORT + N - 1)), live vote on PostgreSQL; logs in $RUN)"
echo "teacher link (the Classroom through nginx): $AIART_PUBLIC_URL/?teacher=$AIART_TEACHER_TOKEN"
echo "Ctrl-C stops everything."
wait
