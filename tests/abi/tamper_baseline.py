"""abi_check_catches: the ABI check fails against a baseline that differs
from this build the two ways a release breaks its users, and names what.

tamper_baseline.py SOURCE BUILD OUT

  moved_member     ringdrop_ring_options.cell_size at another offset (a
                   member inserted before it, or the struct reordered)
  removed_function ringdrop_ring_close renamed in the baseline: to the check,
                   the library lost a function the last release had

Each altered copy of abi/libringdrop.abi is written to OUT and checked with
scripts/abi-check.sh --baseline: it must exit 1 and report the change.
"""

import os
import re
import subprocess
import sys

source, build, out = sys.argv[1:4]
with open(os.path.join(source, "abi", "libringdrop.abi"), encoding="utf-8") as f:
    baseline = f.read()


def moved_member(text):
    start = text.index("class-decl name='ringdrop_ring_options'")
    member = text.index("name='cell_size'", start)
    at = text.rindex("layout-offset-in-bits='", start, member)
    m = re.match(r"layout-offset-in-bits='(\d+)'", text[at:])
    moved = "layout-offset-in-bits='%d'" % (int(m.group(1)) + 32)
    return text[:at] + moved + text[at + m.end():], "cell_size"


def removed_function(text):
    changed, n = re.subn(r"\bringdrop_ring_close\b", "ringdrop_ring_close_gone", text)
    assert n >= 2, "ringdrop_ring_close not in the baseline"
    return changed, "ringdrop_ring_close_gone"


os.makedirs(out, exist_ok=True)
failures = []
for tamper in (moved_member, removed_function):
    text, expect = tamper(baseline)
    assert text != baseline
    path = os.path.join(out, tamper.__name__ + ".abi")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    run = subprocess.run([os.path.join(source, "scripts", "abi-check.sh"), "--baseline", path, build],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("--- %s: exit %d\n%s" % (tamper.__name__, run.returncode, run.stdout))
    if run.returncode != 1 or expect not in run.stdout or "FAILED" not in run.stdout:
        failures.append(tamper.__name__)
if failures:
    sys.exit("abi_check_catches: the check did not fail as it must for: " + ", ".join(failures))
print("abi_check_catches: both alterations fail the check")
