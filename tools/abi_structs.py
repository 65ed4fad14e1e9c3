#!/usr/bin/env python3
"""The part of the ABI check abidiff cannot say (scripts/abi-check.sh): that
each struct which carries its size — ringdrop.h's *_options and *_stats,
`size` first — only grew at its end.

    tools/abi_structs.py BASELINE.abi CURRENT.abi

Both files are abigail's XML (abidw). For each such struct of the baseline:
the current one must exist, be no smaller, and keep every member at the same
offset with the same name and type; members it adds must lie past the
baseline's size. abidiff is told to ignore these structs
(abi/libringdrop.abignore): its `has_data_member_inserted_at = end`
suppression also hid a member moved inside the struct (libabigail 2.2), so
the rule is checked here instead. Exit 1 with one line per break.
"""

import re
import sys
import xml.etree.ElementTree as ET

SIZED = re.compile(r"^ringdrop_[a-z_]+_(options|stats)$")


def load(path):
    root = ET.parse(path).getroot()
    by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
    structs = {e.get("name"): e for e in root.iter("class-decl")
               if SIZED.match(e.get("name") or "") and e.get("is-declaration-only") != "yes"}
    return by_id, structs


def type_name(by_id, type_id, depth=0):
    """A type's spelling, the same across two corpora (ids are not)."""
    e = by_id.get(type_id)
    if e is None or depth > 20:
        return "?" + str(type_id)
    tag = e.tag
    if tag == "pointer-type-def":
        return type_name(by_id, e.get("type-id"), depth + 1) + "*"
    if tag == "qualified-type-def":
        quals = " ".join(q for q in ("const", "volatile") if e.get(q) == "yes")
        return quals + " " + type_name(by_id, e.get("type-id"), depth + 1)
    if tag == "array-type-def":
        return type_name(by_id, e.get("element-type-id"), depth + 1) + "[%s]" % e.get("size-in-bits")
    return e.get("name") or tag


def members(by_id, struct):
    out = []
    for dm in struct.findall("data-member"):
        var = dm.find("var-decl")
        out.append((int(dm.get("layout-offset-in-bits")), var.get("name"),
                    type_name(by_id, var.get("type-id"))))
    return out


def main(baseline_path, current_path):
    old_ids, old = load(baseline_path)
    new_ids, new = load(current_path)
    breaks = []
    for name, old_struct in sorted(old.items()):
        if name not in new:
            breaks.append(f"{name}: gone")
            continue
        old_size = int(old_struct.get("size-in-bits"))
        new_size = int(new[name].get("size-in-bits"))
        if new_size < old_size:
            breaks.append(f"{name}: shrank from {old_size} to {new_size} bits")
        now = members(new_ids, new[name])
        for member in members(old_ids, old_struct):
            if member not in now:
                breaks.append(f"{name}: member {member[1]} ({member[2]}) at bit {member[0]} "
                              "is no longer there as it was")
        for offset, member, type_ in now:
            if (offset, member, type_) not in members(old_ids, old_struct) and offset < old_size:
                breaks.append(f"{name}: new member {member} at bit {offset}, inside the old struct "
                              f"({old_size} bits): only the end may grow")
    for line in breaks:
        print("abi_structs: " + line)
    if not breaks:
        print(f"abi_structs: {len(old)} sized structs kept their layout (grown at the end at most)")
    return 1 if breaks else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
