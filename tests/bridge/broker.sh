#!/usr/bin/env bash
# A real RabbitMQ broker for the bridge's tests (ctest label `broker`), run as
# a plain process of whoever runs the tests (root in CI, or a normal user),
# with everything it writes under one directory DIR, on ports of its own:
# never the system's broker, its node, its cookie, its files or port 5672.
#
#   broker.sh start DIR       stop what an earlier run left in DIR, empty DIR,
#                             pick two free ports, start the broker, wait until
#                             it serves (RINGDROP_BROKER_START_TIMEOUT, 90 s),
#                             write DIR/env and DIR/pid. Prints DIR/env.
#   broker.sh stop DIR        stop it; succeeds when nothing runs
#   broker.sh ctl DIR ARGS... rabbitmqctl ARGS against that node, e.g.
#                             list_queues, delete_queue Q,
#                             set_vm_memory_high_watermark 0 (publishers
#                             blocked; 0.4 lifts it), stop_app, start_app
#   broker.sh restart DIR [--hard]
#                             a full restart of the broker's process, on the
#                             same ports and data: `down` then `up`
#   broker.sh down DIR [--hard]  stop the process only (ports and data kept)
#   broker.sh up DIR          start it again after `down`, wait until it serves
#
# restart is a real process restart, not `ctl stop_app`/`start_app`: that is
# what a broker's crash, upgrade or service restart does to a client. Every
# TCP connection drops, the port refuses connections until the node is back
# (`down`/`up` let a test act in between), durable queues and persistent
# messages survive (the data directory is kept), transient ones do not.
# The default stop is graceful: the broker sends connection.close
# (CONNECTION_FORCED) to each client first. --hard kills it (SIGKILL), as a
# crash or the OOM killer would: no close frame, the client finds out from a
# reset or its heartbeat, and messages not yet synced to disk may be lost.
#
# DIR/env, one KEY=VALUE a line, no quotes (read it, do not `source` it):
#   AMQP_HOST AMQP_PORT AMQP_USER AMQP_PASSWORD AMQP_VHOST  what a client needs
#   NODE HOME_DIR DIST_PORT                           the node, for rabbitmqctl
#   BROKER_SH                 this script: a test runs "$BROKER_SH ctl DIR ..."
# DIR/pid is the broker's process group (the rabbitmq-server wrapper, leader
# of a session of its own); DIR/log/ holds its logs.
#
# Why each variable the broker is started with (rabbitmq-env, rabbit_env):
#   HOME                      the Erlang cookie is read from $HOME/.erlang.cookie;
#                             ours is DIR/home, written here before the node
#                             starts, so the server and rabbitmqctl agree and
#                             the system's /var/lib/rabbitmq is not touched
#   RABBITMQ_NODENAME         unique (<name>@localhost): several brokers
#                             (builds, users, the system's `rabbit@host`) share
#                             one epmd, which knows nodes by name
#   RABBITMQ_NODE_IP_ADDRESS  127.0.0.1: nothing is offered to the network
#   RABBITMQ_NODE_PORT        the AMQP port, a free one (default 5672)
#   RABBITMQ_DIST_PORT        the Erlang distribution port rabbitmqctl talks
#                             to, a free one (default AMQP port + 20000)
#   RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS  binds that port to 127.0.0.1 too
#   RABBITMQ_MNESIA_BASE      the data (queues, messages, the PID file,
#                             feature flags): DIR/data
#   RABBITMQ_LOG_BASE         the logs: DIR/log (<node>.log)
#   RABBITMQ_CONFIG_FILE      DIR/etc/rabbitmq.conf (written here) and not
#   RABBITMQ_CONFIG_FILES     /etc/rabbitmq/rabbitmq.conf or conf.d/*.conf
#   RABBITMQ_ADVANCED_CONFIG_FILE  (which a developer's machine may have),
#   RABBITMQ_CONF_ENV_FILE    nor /etc/rabbitmq/rabbitmq-env.conf, nor
#   RABBITMQ_ENABLED_PLUGINS_FILE  /etc/rabbitmq/enabled_plugins: no
#   RABBITMQ_MOTD_FILE        plugin, so it starts faster (`[].`)
#   RABBITMQ_PID_FILE         the Erlang VM's PID: DIR/beam.pid
#   ERL_CRASH_DUMP            a crash dump goes to DIR/log, not the cwd
#   LC_ALL                    C.UTF-8: the CLI (Elixir) warns under latin1
# /usr/lib/rabbitmq/bin/rabbitmq-server is run, not /usr/sbin/rabbitmq-server,
# which switches to the rabbitmq user and its HOME (/var/lib/rabbitmq).
#
# Nothing outlives its run by accident. The broker runs in a session of its
# own with every descriptor redirected to DIR/log (ctest waits for its test's
# output to close, so nothing may keep ctest's pipes). With
# RINGDROP_BROKER_WATCH_PID=parent (the ctest fixture sets it) a watchdog
# stops the broker once the process that ran `start` has ended — ctest — so a
# ctest killed before its cleanup leaves no broker; a PID there watches that
# process; unset or 0 (by hand): the broker runs until `stop`. `start` stops
# whatever an earlier run left in DIR. epmd, the Erlang port mapper that any
# Erlang node starts, is shared: `stop` ends it only when no node is left
# registered.
set -euo pipefail

sbin=${RINGDROP_RABBITMQ_SBIN:-/usr/lib/rabbitmq/bin}
start_timeout=${RINGDROP_BROKER_START_TIMEOUT:-90}
marker=.ringdrop-broker   # in DIR: this script's, so `start` may empty it

die() { echo "broker.sh: $*" >&2; exit 1; }
usage() {
  echo "usage: broker.sh start|stop|up DIR | restart|down DIR [--hard] | ctl DIR RABBITMQCTL-ARGS..." >&2
  exit 2
}

[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
case $cmd in
  start | stop | up) [ $# -eq 0 ] || usage ;;
  restart | down) [ $# -eq 0 ] || { [ $# -eq 1 ] && [ "$1" = --hard ]; } || usage ;;
  ctl) [ $# -ge 1 ] || usage ;;
  *) usage ;;
esac
[ -n "$dir" ] || die "DIR is empty"
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
dir=${dir%/}

# A caller's RABBITMQ_* (a developer's shell) must not change our node.
for v in $(compgen -v RABBITMQ_ || true); do unset "$v"; done

# --- DIR/env ----------------------------------------------------------------
env_get() {  # KEY: its value in DIR/env, empty when absent
  local k v
  [ -f "$dir/env" ] || return 0
  while IFS='=' read -r k v; do
    [ "$k" = "$1" ] && { printf '%s\n' "$v"; return 0; }
  done <"$dir/env"
}

load_env() {  # sets node, amqp_port, dist_port, home_dir from DIR/env
  node=$(env_get NODE)
  amqp_port=$(env_get AMQP_PORT)
  dist_port=$(env_get DIST_PORT)
  home_dir=$(env_get HOME_DIR)
  [ -n "$node" ] && [ -n "$amqp_port" ] && [ -n "$dist_port" ] && [ -n "$home_dir" ]
}

# --- processes --------------------------------------------------------------
starttime() { awk '{ print $22 }' "/proc/$1/stat" 2>/dev/null; }  # guards against PID reuse

broker_pid() {  # the broker's live process group leader, from DIR/pid; else fails
  local pid st
  [ -f "$dir/pid" ] || return 1
  read -r pid st <"$dir/pid" || return 1
  [ -n "$pid" ] && [ -n "$st" ] && [ "$(starttime "$pid")" = "$st" ] || return 1
  echo "$pid"
}

group_alive() {  # PGID: a process of that group still runs (zombies aside)
  local f line fields
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue   # it may have ended since the glob
    read -r -a fields <<<"${line##*) }"   # after the command's name: state ppid pgrp ...
    [ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ] && return 0
  done
  return 1
}

wait_group_gone() {  # PGID SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    group_alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

# --- rabbitmqctl ------------------------------------------------------------
ctl() {  # rabbitmqctl against our node, from DIR (any stray file lands there)
  (cd "$dir" && HOME=$home_dir LC_ALL=C.UTF-8 ERL_CRASH_DUMP=$dir/log/erl_crash.dump \
    RABBITMQ_CONF_ENV_FILE=$dir/etc/rabbitmq-env.conf \
    "$sbin/rabbitmqctl" -n "$node" "$@")
}

# --- ports ------------------------------------------------------------------
free_ports() {  # two free TCP ports on 127.0.0.1, below the ephemeral range
  python3 - <<'EOF'
import random, socket
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except OSError:
    low = 32768
# Below the kernel's ephemeral range no outgoing connection takes the port
# between this check and the broker's bind; clear of 4369 (epmd), 5672 and
# 25672 (a default broker) and 35672-35682 (rabbitmqctl's own ports).
hi = low - 1 if low > 21000 else 60999
taken = {4369, 5672, 25672} | set(range(35672, 35683))
found = []
while len(found) < 2:
    p = random.randint(20000, hi)
    if p in taken or p in found:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        found.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*found)
EOF
}

port_accepts() {  # PORT: something accepts TCP connections on 127.0.0.1:PORT
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2).close()' "$1" 2>/dev/null
}

# --- the node ---------------------------------------------------------------
log_tail() {
  local f
  for f in "$dir/log/$node.log" "$dir/log/stdout.log"; do
    [ -s "$f" ] || continue
    echo "---- last lines of $f ----" >&2
    tail -n 40 "$f" >&2
  done
}

node_up() {  # start the broker's process on the ports in DIR/env; wait until it serves
  local pid t0 elapsed
  load_env || die "no broker set up in $dir (run: broker.sh start $dir)"
  if broker_pid >/dev/null; then die "a broker already runs in $dir (pid $(broker_pid))"; fi
  rm -f "$dir/pid" "$dir/beam.pid"
  t0=$(date +%s)
  # setsid: a session and process group of its own, which `stop` can end
  # whole; bash writes its PID and start time, then becomes the broker.
  (
    cd "$dir"
    exec env HOME="$home_dir" LC_ALL=C.UTF-8 ERL_CRASH_DUMP="$dir/log/erl_crash.dump" \
      RABBITMQ_CONF_ENV_FILE="$dir/etc/rabbitmq-env.conf" \
      RABBITMQ_NODENAME="$node" \
      RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$amqp_port" \
      RABBITMQ_DIST_PORT="$dist_port" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
      RABBITMQ_MNESIA_BASE="$dir/data" \
      RABBITMQ_LOG_BASE="$dir/log" \
      RABBITMQ_CONFIG_FILE="$dir/etc/rabbitmq.conf" \
      RABBITMQ_CONFIG_FILES="$dir/etc/conf.d/*.conf" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$dir/etc/advanced.config" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$dir/etc/enabled_plugins" \
      RABBITMQ_MOTD_FILE="$dir/etc/motd" \
      RABBITMQ_PID_FILE="$dir/beam.pid" \
      setsid bash -c 'echo "$$ $(awk "{ print \$22 }" /proc/$$/stat)" >"$1"; exec "$2"' \
        broker "$dir/pid" "$sbin/rabbitmq-server"
  ) </dev/null >>"$dir/log/stdout.log" 2>&1 &
  for _ in $(seq 50); do [ -s "$dir/pid" ] && break; sleep 0.1; done
  pid=$(broker_pid) || { log_tail; die "the broker did not start"; }
  # Ready: `await_startup` fails at once until the node is registered with
  # epmd, then waits for the boot to end (listeners included).
  while :; do
    elapsed=$(($(date +%s) - t0))
    if ! group_alive "$pid"; then
      log_tail
      echo "broker.sh: the broker exited while starting, after ${elapsed}s" >&2
      return 1
    fi
    if [ "$elapsed" -ge "$start_timeout" ]; then
      log_tail
      echo "broker.sh: the broker did not start within ${start_timeout}s (RINGDROP_BROKER_START_TIMEOUT)" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
      return 1
    fi
    if ctl -q await_startup --timeout 10 >/dev/null 2>&1 && port_accepts "$amqp_port"; then
      echo "broker.sh: $node up on 127.0.0.1:$amqp_port after $(($(date +%s) - t0))s" >&2
      return 0
    fi
    sleep 1
  done
}

node_down() {  # [--hard]: stop the broker's process, if it runs; keep DIR
  local pid hard=${1:-}
  load_env || return 0
  pid=$(broker_pid) || pid=
  if [ -z "$pid" ]; then
    # No process of ours; a node of that name answering (DIR/pid lost) is ours still.
    if [ "$hard" != --hard ] && ctl -q -t 5 ping >/dev/null 2>&1; then
      ctl -q -t 60 stop >/dev/null 2>&1 || true
    fi
    return 0
  fi
  if [ "$hard" = --hard ]; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true   # reaps it if it is our child (a failed start)
  else
    # Graceful: clients get connection.close. rabbitmqctl stop returns once the
    # node is down; then the wrapper script exits.
    ctl -q -t 60 stop >/dev/null 2>&1 || true
    if ! wait_group_gone "$pid" 30; then
      echo "broker.sh: $node did not stop with rabbitmqctl; SIGTERM, then SIGKILL" >&2
      kill -TERM -- "-$pid" 2>/dev/null || true
      wait_group_gone "$pid" 10 || kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  wait_group_gone "$pid" 10 || die "the broker's processes (group $pid) did not end"
  # The VM unregisters from epmd when it ends; after SIGKILL epmd notices the
  # closed connection, which may take a moment.
  rm -f "$dir/pid" "$dir/beam.pid"
}

epmd_release() {  # end epmd when no node is registered any more: it is shared
  local names
  command -v epmd >/dev/null || return 0
  names=$(epmd -names 2>/dev/null) || return 0   # no epmd running
  if ! grep -q '^name ' <<<"$names"; then
    epmd -kill >/dev/null 2>&1 || true
  fi
}

# --- the watchdog -----------------------------------------------------------
watchdog_stop() {
  local pid st
  [ -f "$dir/watchdog.pid" ] || return 0
  read -r pid st <"$dir/watchdog.pid" || true
  rm -f "$dir/watchdog.pid"
  [ -n "${pid:-}" ] && [ "$pid" != "${RINGDROP_BROKER_WATCHDOG:-}" ] &&
    [ "$(starttime "$pid")" = "$st" ] && kill "$pid" 2>/dev/null || true
}

watchdog_start() {  # PID: stop the broker once PID has ended
  local watched=$1 wst
  wst=$(starttime "$watched") || wst=
  [ -n "$wst" ] || { echo "broker.sh: no process $watched to watch; no watchdog" >&2; return 0; }
  setsid bash -c '
    echo "$$ $(awk "{ print \$22 }" /proc/$$/stat)" >"$1/watchdog.pid"
    while [ "$(awk "{ print \$22 }" /proc/$2/stat 2>/dev/null)" = "$3" ]; do sleep 2; done
    [ -f "$1/watchdog.pid" ] && read -r me _ <"$1/watchdog.pid" && [ "$me" = "$$" ] || exit 0
    echo "$(date "+%F %T") process $2 ended: stopping the broker"
    RINGDROP_BROKER_WATCHDOG=$$ exec "$4" stop "$1"
  ' watchdog "$dir" "$watched" "$wst" "$(readlink -f "$0")" \
    </dev/null >>"$dir/log/watchdog.log" 2>&1 &
}

# --- commands ---------------------------------------------------------------
do_stop() {
  watchdog_stop
  node_down
  epmd_release
}

do_start() {
  local try
  if [ -e "$dir" ]; then
    [ -d "$dir" ] || die "$dir is not a directory"
    if [ -n "$(ls -A "$dir")" ] && [ ! -e "$dir/$marker" ]; then
      die "$dir is not empty and not a broker directory of this script: not touching it"
    fi
    do_stop
    rm -rf "$dir"
  fi
  mkdir -p "$dir/home" "$dir/data" "$dir/log" "$dir/etc/conf.d"
  touch "$dir/$marker" "$dir/etc/rabbitmq-env.conf"
  echo '[].' >"$dir/etc/enabled_plugins"
  cat >"$dir/etc/rabbitmq.conf" <<'EOF'
# broker.sh: a throwaway broker for tests. guest/guest, from localhost only.
log.file.level = info
log.console = false
EOF
  # The cookie, before any Erlang node looks for it (else server and
  # rabbitmqctl could each make one).
  (umask 077 && head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$dir/home/.erlang.cookie")
  chmod 400 "$dir/home/.erlang.cookie"
  home_dir=$dir/home
  node="ringdrop-test-$(id -u)-$$-$RANDOM@localhost"
  for try in 1 2 3; do   # a port may be taken between our check and the broker's bind
    read -r amqp_port dist_port <<<"$(free_ports)"
    [ -n "${dist_port:-}" ] || die "found no free port"
    cat >"$dir/env" <<EOF
AMQP_HOST=127.0.0.1
AMQP_PORT=$amqp_port
AMQP_USER=guest
AMQP_PASSWORD=guest
AMQP_VHOST=/
NODE=$node
HOME_DIR=$home_dir
DIST_PORT=$dist_port
BROKER_SH=$(readlink -f "$0")
EOF
    if node_up; then
      case ${RINGDROP_BROKER_WATCH_PID:-0} in
        0) ;;
        parent) watchdog_start "$PPID" ;;
        *) watchdog_start "$RINGDROP_BROKER_WATCH_PID" ;;
      esac
      cat "$dir/env"
      return 0
    fi
    node_down --hard || true
    grep -qs eaddrinuse "$dir/log/$node.log" "$dir/log/stdout.log" || break
    echo "broker.sh: a port was taken (eaddrinuse); again with others (try $try)" >&2
    rm -rf "$dir/data" "$dir/log" && mkdir -p "$dir/data" "$dir/log"
  done
  epmd_release
  die "could not start the broker in $dir"
}

case $cmd in
  start) do_start ;;
  stop) do_stop ;;
  up) node_up ;;
  down | restart | ctl)
    load_env || die "no broker set up in $dir (run: broker.sh start $dir)"
    case $cmd in
      down) node_down "${1:-}" ;;
      restart) node_down "${1:-}" && node_up ;;
      ctl) ctl "$@" ;;
    esac
    ;;
esac
