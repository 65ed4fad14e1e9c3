#!/usr/bin/env python3
"""The part of the ABI check abidiff cannot say (scripts/abi-check.sh).

    tools/abi_compare.py BASELINE.abi CURRENT.abi BASELINE.constants CURRENT.constants

1. Sized structs. Each struct that carries its size — ringdrop.h's
   *_options and *_stats, `size` first — keeps its layout: the current one
   must exist, be no smaller, and keep every member at the same offset with
   the same name and type; members it adds must lie past the baseline's
   size. And it may grow only if the library never writes past a caller's
   size: a *_stats struct (filled up to the size its caller set), or an
   *_options struct whose <name>_init_size the library exports (its plain
   _init fills sizeof of the struct the library was built with: grown, it
   would write past the struct of a program built before). abidiff is told to leave these structs alone
   (abi/libringdrop.abignore): its `has_data_member_inserted_at = end`
   suppression also hid a member moved inside the struct (libabigail 2.2).
2. Signatures. Because of that suppression, abidiff would also miss a
   parameter retyped from one sized struct to another, so every function
   both files have keeps its return type and each parameter's type, spelled
   out (type ids differ between files).
3. Constants. The error codes (enumerators) and the macros of ringdrop.h are
   not in the debug information abidiff reads; scripts/abi-check.sh lists
   them (NAME VALUE, one per line), and every line of the baseline's list
   must be in the current one unchanged. New ones may be added.

Both .abi files are abigail's XML (abidw). Exit 1 with one line per break.
"""

import re
import sys
import xml.etree.ElementTree as ET

SIZED = re.compile(r"^ringdrop_[a-z_]+_(options|stats)$")


class Corpus:
    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.by_id = {e.get("id"): e for e in root.iter() if e.get("id")}
        self.structs = {e.get("name"): e for e in root.iter("class-decl")
                        if SIZED.match(e.get("name") or "") and e.get("is-declaration-only") != "yes"}
        self.functions = {e.get("name"): e for e in root.iter("function-decl")
                          if (e.get("name") or "").startswith("ringdrop_") and e.get("elf-symbol-id")}

    def spell(self, type_id, depth=0):
        """A type's spelling, comparable across two files (ids are not).
        Qualifiers follow what they qualify: `char const*` is a pointer to
        const char, `char* const` a const pointer."""
        e = self.by_id.get(type_id)
        if e is None or depth > 30:
            return "?" + str(type_id)
        inner = e.get("type-id")
        if e.tag == "pointer-type-def":
            return self.spell(inner, depth + 1) + "*"
        if e.tag == "qualified-type-def":
            quals = "".join(" " + q for q in ("const", "volatile") if e.get(q) == "yes")
            return self.spell(inner, depth + 1) + quals
        if e.tag == "array-type-def":
            return self.spell(e.get("element-type-id"), depth + 1) + "[%s]" % e.get("size-in-bits")
        if e.tag == "typedef-decl":
            return "%s=%s" % (e.get("name"), self.spell(inner, depth + 1))
        if e.tag == "function-type":
            return self.signature(e, depth + 1)
        return e.get("name") or e.tag

    def signature(self, decl, depth=0):
        params = [self.spell(p.get("type-id"), depth) for p in decl.findall("parameter")
                  if p.get("is-variadic") != "yes"]
        ret = decl.find("return")
        return "%s(%s)" % (self.spell(ret.get("type-id"), depth) if ret is not None else "?", ", ".join(params))

    def members(self, struct):
        out = []
        for dm in struct.findall("data-member"):
            var = dm.find("var-decl")
            out.append((int(dm.get("layout-offset-in-bits")), var.get("name"), self.spell(var.get("type-id"))))
        return out


def sized_structs(old, new):
    breaks = []
    for name, old_struct in sorted(old.structs.items()):
        if name not in new.structs:
            breaks.append(f"{name}: gone")
            continue
        old_size = int(old_struct.get("size-in-bits"))
        new_size = int(new.structs[name].get("size-in-bits"))
        if new_size < old_size:
            breaks.append(f"{name}: shrank from {old_size} to {new_size} bits")
        before, now = old.members(old_struct), new.members(new.structs[name])
        for member in before:
            if member not in now:
                breaks.append(f"{name}: member {member[1]} ({member[2]}) at bit {member[0]} "
                              "is no longer there as it was")
        for offset, member, type_ in now:
            if (offset, member, type_) not in before and offset < old_size:
                breaks.append(f"{name}: new member {member} at bit {offset}, inside the old struct "
                              f"({old_size} bits): only the end may grow")
        if new_size > old_size and name.endswith("_options") and name + "_init_size" not in new.functions:
            breaks.append(f"{name}: grew from {old_size} to {new_size} bits, but the library has no "
                          f"{name}_init_size: its _init would write past the struct of a program built before")
    return breaks, f"{len(old.structs)} sized structs kept their layout (grown at the end at most)"


def signatures(old, new):
    breaks = []
    for name, decl in sorted(old.functions.items()):
        if name not in new.functions:
            continue  # removed: abidiff reports it
        before, now = old.signature(decl), new.signature(new.functions[name])
        if before != now:
            breaks.append(f"{name}: was {before}, is now {now}")
    return breaks, f"{len(old.functions)} functions kept their signatures"


def constants(old_path, new_path):
    def read(path):
        with open(path, encoding="utf-8") as f:
            return dict(line.rstrip("\n").split(" ", 1) for line in f if line.strip())
    old, new = read(old_path), read(new_path)
    breaks = []
    for name, value in sorted(old.items()):
        if name not in new:
            breaks.append(f"{name}: gone (was {value})")
        elif new[name] != value:
            breaks.append(f"{name}: was {value}, is now {new[name]}")
    return breaks, f"{len(old)} constants kept their values ({len(new) - len(old)} added)"


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    old, new = Corpus(argv[1]), Corpus(argv[2])
    failed = False
    for breaks, fine in (sized_structs(old, new), signatures(old, new), constants(argv[3], argv[4])):
        for line in breaks:
            print("abi_compare: " + line)
        if not breaks:
            print("abi_compare: " + fine)
        failed = failed or bool(breaks)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
