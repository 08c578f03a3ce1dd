#!/usr/bin/env bash
# tandem's quickstart: builds, creates certificates with `pki init` (once), starts a
# master and a replica replicating over mutual TLS on loopback, writes through the master,
# reads through the replica, shows INFO replication from both, and stops both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet --bin tandem --bin pki
bin=target/release
if [ ! -f certs/ca.crt ]; then
  "$bin/pki" init --dir certs
fi
mkdir -p data/master data/replica

# The paths in the example configs are relative to the repository root; `dir` is where
# each node keeps its AOF/RDB, so the certificate paths are made absolute here.
root=$(pwd)
abs() { sed -e "s#certs/#$root/certs/#g" -e "s#\./data/#$root/data/#g" "$1"; }
abs examples/master-tls.conf >data/master.conf
abs examples/replica-tls.conf >data/replica.conf

"$bin/tandem" data/master.conf --logfile "$root/data/master.log" &
master=$!
"$bin/tandem" data/replica.conf --logfile "$root/data/replica.log" &
replica=$!
trap 'kill $master $replica 2>/dev/null; wait 2>/dev/null; echo; echo "stopped master and replica"' EXIT INT TERM

cli() {
  local port=$1
  shift
  redis-cli --tls --cert certs/client.crt --key certs/client.key --cacert certs/ca.crt \
    -p "$port" -a mypassword --no-auth-warning "$@"
}

if ! command -v redis-cli >/dev/null; then
  echo "redis-cli not found (apt-get install redis-tools); master and replica are running on TLS ports 6379 and 6380."
  wait
fi

for _ in $(seq 1 100); do
  if [ "$(cli 6380 INFO replication 2>/dev/null | tr -d '\r' | grep -c '^master_link_status:up')" = 1 ]; then
    break
  fi
  sleep 0.1
done

echo "== write through the master (6379)"
cli 6379 SET key1 "hello from the master"
cli 6379 SET key2 42
for _ in $(seq 1 100); do
  [ "$(cli 6380 GET key2)" = 42 ] && break
  sleep 0.1
done
echo "== read through the replica (6380)"
cli 6380 GET key1
cli 6380 GET key2
echo "== master: INFO replication"
cli 6379 INFO replication
echo "== replica: INFO replication"
cli 6380 INFO replication
cat <<TRY
== try it yourself (Ctrl-C stops both nodes):
redis-cli --tls --cert certs/client.crt --key certs/client.key --cacert certs/ca.crt -p 6379 -a mypassword
redis-cli --tls --cert certs/client.crt --key certs/client.key --cacert certs/ca.crt -p 6380 -a mypassword
logs: data/master.log data/replica.log
TRY
wait
