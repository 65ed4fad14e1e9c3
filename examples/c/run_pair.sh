#!/bin/sh
# run_pair.sh CLIENT SERVICE [ORDERS [FILES]] — runs legacy_client against
# partner_service, as two processes: the service in the background, the
# client in the foreground. Both get one ring name (unique to this run: the
# shell's pid) and a fresh drop directory. Exit 0 only when both exit 0.
# Nothing here waits for the other side: the programs synchronise through
# the rings themselves (blocking receives with timeouts).
set -u
client=$1
service=$2
shift 2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringdrop-legacy.XXXXXX") || exit 1
name="rdlegacy-$$"
# Both programs remove the rings; this is for a program that was killed.
trap 'rm -rf "$tmp"; rm -f "/dev/shm/$name-requests" "/dev/shm/$name-replies"' EXIT

"$service" "$name" "$tmp/invoices" &
service_pid=$!
"$client" "$name" "$tmp/invoices" "$@"
client_status=$?
wait "$service_pid"
service_status=$?

if [ "$client_status" -ne 0 ] || [ "$service_status" -ne 0 ]; then
  echo "run_pair: legacy_client exited $client_status, partner_service $service_status" >&2
  exit 1
fi
