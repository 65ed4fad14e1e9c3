#!/usr/bin/env python3
"""The layer check: every #include in lib/ and bindings/ runs down the layers.

ringdrop's layers, lowest first (docs/architecture.md, "Where things are"):

    core      errors, results, deadlines, futex, byte locks, POSIX files
    segment   named mapped segments, roles,         drop   the file-drop channel
              the peer table, the wait line
    ring      SPSC, cells, MPMC, broadcast, and their dead letters (kept in a
              drop channel's failed/ folder)
    message   the envelope, typed send and receive, owned messages
    rpc       client, server, registry, circuit breaker
    bindings  the C ABI (and the umbrella header ringdrop.hpp)

A file may include files of its own layer and of any layer below it, never
one above it, and never one of a sibling: `segment` and `drop` stand side
by side (the drop channel uses no shared memory), so neither includes the
other; the rings stand on both.

Private headers are named by their folder ("ring/spsc_layout.hpp"), so a
private include says its layer. Public headers (lib/include/ringdrop/) stay
flat, where users include them; PUBLIC below says the layer of each, and a
public header it does not know fails the check until someone places it.

    tools/check_layers.py [--root DIR]     exit 0, or 1 with one line per
                                           include that runs the wrong way
"""
import argparse
import os
import re
import sys

# (name, rank): equal ranks are siblings.
LAYERS = {"core": 0, "segment": 1, "ring": 2, "drop": 1, "message": 3, "rpc": 4, "bindings": 5}

# Public headers, lib/include/ringdrop/<name>, and the generated ones.
PUBLIC = {
    "export.hpp": "core", "error.hpp": "core", "error_table.h": "core", "result.hpp": "core",
    "wait.hpp": "core", "version.hpp": "core", "version.h": "core",
    "segment.hpp": "segment",
    "ring_options.hpp": "ring", "ring_contract.hpp": "ring", "shared_ring_stats.hpp": "ring",
    "spsc_ring.hpp": "ring", "mpmc_ring.hpp": "ring", "broadcast_ring.hpp": "ring",
    "ring_dead_letters.hpp": "ring",
    "drop_types.hpp": "drop", "drop_channel.hpp": "drop", "drop_consumer.hpp": "drop", "drop_reply.hpp": "drop",
    "message.hpp": "message", "owned_message.hpp": "message", "typed_ring.hpp": "message",
    "schema/envelope.capnp.h": "message",
    "rpc.hpp": "rpc", "rpc_client.hpp": "rpc", "rpc_server.hpp": "rpc", "reply_queue.hpp": "rpc",
    "service_registry.hpp": "rpc", "circuit_breaker.hpp": "rpc",
    "ringdrop.hpp": "bindings",  # the umbrella: everything, so above every layer
}

INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.M)
SOURCE = (".hpp", ".cpp", ".h", ".c")


def layer_of_file(root, path):
    """The layer a file of the tree belongs to, or None if the check skips it."""
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    if rel.startswith("lib/src/"):
        return rel.split("/")[2] if rel.count("/") >= 3 else None
    if rel.startswith("lib/include/ringdrop/"):
        name = rel[len("lib/include/ringdrop/"):]
        return PUBLIC.get(name, "?" + name)
    if rel.startswith("bindings/c/"):
        return "bindings"
    return None


def layer_of_include(target, including_dir, root):
    """The layer of an included file, None for system and third-party headers."""
    if target.startswith("ringdrop/"):
        name = target[len("ringdrop/"):]
        return PUBLIC.get(name, "?" + name)
    if target == "ringdrop.h":
        return "bindings"
    head = target.split("/")[0]
    if "/" in target and head in LAYERS and os.path.exists(os.path.join(root, "lib/src", target)):
        return head
    if os.path.exists(os.path.join(including_dir, target)):  # beside the includer
        return layer_of_file(root, os.path.join(including_dir, target))
    return None


def check(root):
    problems = []
    for top in ("lib/src", "lib/include", "bindings/c"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith(SOURCE):
                    continue
                path = os.path.join(dirpath, f)
                mine = layer_of_file(root, path)
                rel = os.path.relpath(path, root)
                if mine is None:
                    problems.append(f"{rel}: not in a layer folder of lib/src")
                    continue
                if mine.startswith("?"):
                    problems.append(f"{rel}: a public header with no layer: add it to PUBLIC in {sys.argv[0]}")
                    continue
                text = open(path, encoding="utf-8", errors="replace").read()
                for m in INCLUDE.finditer(text):
                    theirs = layer_of_include(m.group(1), dirpath, root)
                    if theirs is None or theirs == mine:
                        continue
                    line = text.count("\n", 0, m.start()) + 1
                    if theirs.startswith("?"):
                        problems.append(f"{rel}:{line}: includes {m.group(1)}, a public header with no layer")
                    elif LAYERS[theirs] >= LAYERS[mine]:
                        how = "a sibling" if LAYERS[theirs] == LAYERS[mine] else "a higher layer"
                        problems.append(f"{rel}:{line}: {mine} includes {m.group(1)}, {how} ({theirs})")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    args = ap.parse_args()
    problems = check(os.path.abspath(args.root))
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} include(s) against the layers "
              "(core -> segment | drop -> ring -> message -> rpc -> bindings)", file=sys.stderr)
        return 1
    print("check_layers: every include runs down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
