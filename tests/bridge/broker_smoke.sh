#!/usr/bin/env bash
# The broker of the fixture (broker.sh start, test bridge_broker_start) serves:
# its AMQP port, read from DIR/env as the bridge's tests read it, answers the
# AMQP 0-9-1 protocol header with connection.start, and rabbitmqctl reaches
# the node (list_queues). Usage: broker_smoke.sh DIR BROKER_SH
set -euo pipefail
dir=${1:?usage: broker_smoke.sh DIR BROKER_SH}
broker_sh=${2:?usage: broker_smoke.sh DIR BROKER_SH}
[ -f "$dir/env" ] || { echo "FAIL: no $dir/env: did bridge_broker_start run?"; exit 1; }

port=$(sed -n 's/^AMQP_PORT=//p' "$dir/env")
[[ $port =~ ^[0-9]+$ ]] || { echo "FAIL: no AMQP_PORT in $dir/env"; exit 1; }

python3 - "$port" <<'EOF'
import socket, struct, sys
port = int(sys.argv[1])
with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
    s.sendall(b"AMQP\x00\x00\x09\x01")
    head = b""
    while len(head) < 11:
        chunk = s.recv(11 - len(head))
        if not chunk:
            sys.exit(f"FAIL: 127.0.0.1:{port} closed the connection after the protocol header")
        head += chunk
    kind, channel, _size, cls, method = struct.unpack(">BHIHH", head)
    if (kind, channel, cls, method) != (1, 0, 10, 10):
        sys.exit(f"FAIL: 127.0.0.1:{port} answered frame {kind} class {cls} method {method}, not connection.start")
print(f"127.0.0.1:{port} answers AMQP 0-9-1 (connection.start)")
EOF

out=$("$broker_sh" ctl "$dir" -q list_queues name messages)
echo "list_queues: ${out:-(no queue)}"
echo "broker smoke: ok"
