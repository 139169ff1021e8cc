#!/usr/bin/env bash
# Side by side against nginx: the CPU loadforge spends per request on a plain
# GET, and on the same GET with a templated header and two checks (status and
# a JSON path). Usage: docs/bench/scenario-nginx.sh [ROUNDS] [SECONDS] [VUS]
# (default 3 rounds of 5 s at 10 VUs). Needs nginx and /usr/bin/time; builds
# bin/loadforge. Prints each run's µs of CPU per request, then the medians and
# their ratio. Measure on a quiet machine: other load skews CPU figures.
set -euo pipefail
rounds=${1:-3} secs=${2:-5} vus=${3:-10}
cd "$(dirname "$0")/../.."
make -s build
dir=$(mktemp -d)
trap 'kill $(cat "$dir/nginx.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '{"user":"alice","items":[1,2,3]}\n'; }
  }
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf"
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
common="base_url: http://127.0.0.1:$port
load: {vus: $vus, duration: ${secs}s}"
cat > "$dir/plain.yaml" <<PLAN
$common
scenario:
  tasks:
    - request: {name: me, path: /me, headers: {Authorization: Bearer abc}}
PLAN
cat > "$dir/checks.yaml" <<PLAN
$common
vars: {token: abc}
scenario:
  tasks:
    - request:
        name: me
        path: /me
        headers: {Authorization: "Bearer {{ .token }}"}
        checks: [{status: 200}, {json: user, equals: alice}]
PLAN
run() { # plan -> µs of CPU per request
  /usr/bin/time -f '%U %S' -o "$dir/time" bin/loadforge run "$dir/$1.yaml" --quiet --out "$dir/r.json" >/dev/null
  python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
u, s = map(float, open(d + "/time").read().split()[-2:])
r = json.load(open(d + "/r.json"))
n, fails = r["totals"]["requests"], (r.get("checks") or {}).get("fails", 0)
assert r["totals"]["errors"] == 0 and fails == 0, "errors or failed checks"
print(f"{(u + s) * 1e6 / n:.2f}")
PY
}
plain=() checks=()
for i in $(seq "$rounds"); do
  p=$(run plain); c=$(run checks)
  plain+=("$p"); checks+=("$c")
  echo "round $i: plain $p µs/req, templated header + 2 checks $c µs/req"
done
python3 - "${plain[*]}" "${checks[*]}" <<'PY'
import statistics, sys
p = statistics.median(map(float, sys.argv[1].split())); c = statistics.median(map(float, sys.argv[2].split()))
print(f"median: plain {p:.2f} µs/req, with checks {c:.2f} µs/req, ratio {c / p:.2f}")
PY
uptime
