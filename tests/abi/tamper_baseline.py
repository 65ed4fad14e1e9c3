"""abi_check_catches: the ABI check (scripts/abi-check.sh) fails against a
baseline that differs from this build the ways a release breaks its users,
and passes against one that differs only the ways the policy allows.

tamper_baseline.py SOURCE BUILD OUT

Each case alters a copy of abi/libringdrop.abi and abi/libringdrop.constants
(written to OUT) so that, seen from the baseline, this build made one
change, then runs the check with --baseline.

Must fail (exit 1, naming what changed):
  moved_member      ringdrop_ring_options.cell_size at another offset
  removed_function  ringdrop_ring_close gone
  retyped_parameter ringdrop_ring_open's options became another sized struct
  renumbered_code   RINGDROP_ETIMEDOUT given another value
  grown_unsized     ringdrop_message_options grew at its end, but it has no
                    _init_size: its _init would overrun an older program's
Must pass (exit 0):
  added_function    ringdrop_client_get_stats new
  grown_struct      ringdrop_client_stats grew a member at its end
  grown_options     ringdrop_client_options grew at its end (it has
                    ringdrop_client_options_init_size)
  added_constant    RINGDROP_RING_OPTIONS_FIRST_SIZE new
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

source, build, out = sys.argv[1:4]
with open(os.path.join(source, "abi", "libringdrop.abi"), encoding="utf-8") as f:
    ABI = f.read()
with open(os.path.join(source, "abi", "libringdrop.constants"), encoding="utf-8") as f:
    CONSTANTS = f.read()


def xml_edit(edit):
    """Applies edit(root, parents) to the baseline's XML; returns the text."""
    root = ET.fromstring(ABI)
    parents = {child: parent for parent in root.iter() for child in parent}
    edit(root, parents)
    return ET.tostring(root, encoding="unicode")


def find(root, tag, name):
    found = [e for e in root.iter(tag) if e.get("name") == name]
    assert len(found) == 1, (tag, name, len(found))
    return found[0]


def moved_member():
    def edit(root, parents):
        struct = find(root, "class-decl", "ringdrop_ring_options")
        member = [dm for dm in struct.findall("data-member") if dm.find("var-decl").get("name") == "cell_size"][0]
        member.set("layout-offset-in-bits", str(int(member.get("layout-offset-in-bits")) + 32))
    return xml_edit(edit), CONSTANTS, "cell_size"


def removed_function():
    text, n = re.subn(r"\bringdrop_ring_close\b", "ringdrop_ring_close_gone", ABI)
    assert n >= 2, "ringdrop_ring_close not in the baseline"
    return text, CONSTANTS, "ringdrop_ring_close_gone"


def retyped_parameter():
    def edit(root, parents):
        drop_options = [p for p in find(root, "function-decl", "ringdrop_drop_open").findall("parameter")
                        if p.get("name") == "options"][0].get("type-id")
        param = [p for p in find(root, "function-decl", "ringdrop_ring_open").findall("parameter")
                 if p.get("name") == "options"][0]
        assert param.get("type-id") != drop_options
        param.set("type-id", drop_options)
    return xml_edit(edit), CONSTANTS, "ringdrop_ring_open"


def renumbered_code():
    text, n = re.subn(r"^RINGDROP_ETIMEDOUT -2$", "RINGDROP_ETIMEDOUT -20", CONSTANTS, flags=re.M)
    assert n == 1, "RINGDROP_ETIMEDOUT -2 not in the constants"
    return ABI, text, "RINGDROP_ETIMEDOUT"


def added_function():
    def edit(root, parents):
        for tag in ("elf-symbol", "function-decl"):
            e = find(root, tag, "ringdrop_client_get_stats")
            parents[e].remove(e)
    return xml_edit(edit), CONSTANTS, "1 Added function"


def shrunk(struct_name):
    """The baseline's `struct_name` without its last member: to the check,
    this build grew it at its end."""
    def edit(root, parents):
        struct = find(root, "class-decl", struct_name)
        last = struct.findall("data-member")[-1]
        struct.remove(last)
        struct.set("size-in-bits", last.get("layout-offset-in-bits"))
    return xml_edit(edit)


def grown_unsized():
    return shrunk("ringdrop_message_options"), CONSTANTS, "ringdrop_message_options_init_size"


def grown_struct():
    return shrunk("ringdrop_client_stats"), CONSTANTS, "sized structs kept their layout"


def grown_options():
    return shrunk("ringdrop_client_options"), CONSTANTS, "sized structs kept their layout"


def added_constant():
    text, n = re.subn(r"^RINGDROP_RING_OPTIONS_FIRST_SIZE \d+\n", "", CONSTANTS, flags=re.M)
    assert n == 1
    return ABI, text, "(1 added)"


os.makedirs(out, exist_ok=True)
failures = []
for case, want in ((moved_member, 1), (removed_function, 1), (retyped_parameter, 1), (renumbered_code, 1),
                   (grown_unsized, 1), (added_function, 0), (grown_struct, 0), (grown_options, 0),
                   (added_constant, 0)):
    abi, constants, expect = case()
    assert (abi, constants) != (ABI, CONSTANTS), case.__name__
    path = os.path.join(out, case.__name__ + ".abi")
    with open(path, "w", encoding="utf-8") as f:
        f.write(abi)
    with open(path[:-len(".abi")] + ".constants", "w", encoding="utf-8") as f:
        f.write(constants)
    run = subprocess.run([os.path.join(source, "scripts", "abi-check.sh"), "--baseline", path, build],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("--- %s: exit %d (want %d)\n%s" % (case.__name__, run.returncode, want, run.stdout))
    if run.returncode != want or expect not in run.stdout or (want == 1) != ("FAILED" in run.stdout):
        failures.append(case.__name__)
if failures:
    sys.exit("abi_check_catches: the check did not answer as it must for: " + ", ".join(failures))
print("abi_check_catches: the five breaks fail the check, the four additions pass")
