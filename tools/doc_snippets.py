#!/usr/bin/env python3
"""Documentation that is tested: every code snippet of README.md and docs/*.md
is compiled or run, so a snippet that stops compiling fails the build's tests
(ctest -R doc_snippets).

    tools/doc_snippets.py SOURCE_DIR BUILD_DIR [--cxx CXX] [--cc CC] [-v]

SOURCE_DIR is the ringdrop tree, BUILD_DIR a built build tree (its generated
headers, lib/libringdrop.a and lib/libringdrop.so are used). Prints one line
per fenced block, `file:line: lang: result`, and exits 1 if any failed, with
the compiler's first error lines. -v prints every unchecked block too.

What is checked, by the fence's language tag (its first word):

  cpp, c++, cxx, cc   g++ (--cxx, else $CXX) -std=c++20 -pedantic-errors, with
                      -I lib/include, BUILD_DIR/lib/include and
                      bindings/c/include (Cap'n Proto is a system header).
                      A snippet with a line starting `int main(` is a
                      program: compiled and linked against libringdrop.a,
                      capnp and kj, not run. Any other snippet is a fragment:
                      its preprocessor lines (#include ...) are kept at file
                      scope, and the rest becomes the body of a function,
                      checked with -fsyntax-only. If that fails, the snippet
                      is tried once more as a file of declarations as it
                      stands; it passes if either compiles. So a fragment may
                      mix statements with `using` and declarations of the
                      reader's own functions (`bool ok(...);  // yours`), but
                      not define functions (use a lambda, or write main()).
  c                   gcc (--cc, else $CC) -std=c99 -pedantic-errors, with
                      -I bindings/c/include, lib/include and
                      BUILD_DIR/lib/include; the same two
                      forms (a program is linked against libringdrop.so, not
                      run).
  python, py, python3 compile()d. Run as well, when it is a program: it has
                      `if __name__ == "__main__":`. It runs with the binding
                      on PYTHONPATH and RINGDROP_LIBRARY set to the build's
                      libringdrop.so, in a temporary directory, for at most
                      120 s; exit status 0 passes.
  sh, bash, shell     bash -n (syntax only, never run).
  anything else       not checked (cmake, capnp, text, untagged...), with one
                      exception: a capnp block that is the block directly
                      before a C++ snippet including "X.capnp.h" must be an
                      excerpt of the tree's X.capnp (its non-comment lines, in
                      order).

A snippet including "X.capnp.h" (quotes, no directory) gets the directory of
BUILD_DIR's generated X.capnp.h as an include path (the shallowest one, when
there are several); a program also links the schema library beside it
(lib<dir>.a, made by ringdrop_capnp_library()).

Error messages carry the Markdown file and line: C and C++ through #line,
Python and shell by keeping the snippet on its own line numbers.

A snippet that cannot be checked is marked on the line directly before its
fence, with the reason:

    <!-- snippet: skip (needs a running server named "quotes") -->

A skip without a reason, an unknown directive, or a directive not followed by
a fence fails the check.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

CXX_TAGS = {"cpp", "c++", "cxx", "cc"}
C_TAGS = {"c"}
PY_TAGS = {"python", "py", "python3"}
SH_TAGS = {"sh", "bash", "shell"}

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$")
SKIP = re.compile(r"^skip\b\s*(?:\((.*)\))?$")
HAS_MAIN = re.compile(r"^\s*int\s+main\s*\(", re.M)
SCHEMA_INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"/]+)\.capnp\.h"', re.M)
PY_MAIN = re.compile(r"^if\s+__name__\s*==\s*['\"]__main__['\"]\s*:", re.M)
ERROR_LINES = 12


class Block:
    def __init__(self, path, line, lang, text, directive, directive_error):
        self.path = path            # relative to the source dir
        self.line = line            # 1-based line of the opening fence
        self.lang = lang
        self.text = text
        self.directive = directive  # ("skip", reason) or None
        self.directive_error = directive_error
        self.previous = None        # the blocks around it in the same file
        self.next = None


def parse(src, rel):
    """The fenced blocks of a Markdown file, and errors of stray directives."""
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks, errors = [], []
    pending = None  # (line number, directive text) of the line just before
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        d = DIRECTIVE.match(lines[i])
        if d:
            if pending:
                errors.append(f"{rel}:{pending[0]}: snippet directive not followed by a fence")
            pending = (i + 1, d.group(1))
            i += 1
            continue
        if not m:
            if pending:
                errors.append(f"{rel}:{pending[0]}: snippet directive not followed by a fence")
                pending = None
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and set(close) == {fence[0]}:
                break
            line = lines[i]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip):])
            i += 1
        directive, derr = None, None
        if pending:
            s = SKIP.match(pending[1])
            if s and (s.group(1) or "").strip():
                directive = ("skip", s.group(1).strip())
            elif s:
                derr = f"{rel}:{pending[0]}: a skip needs a reason: <!-- snippet: skip (why) -->"
            else:
                derr = f"{rel}:{pending[0]}: unknown snippet directive '{pending[1]}' (known: skip (reason))"
            pending = None
        block = Block(rel, start + 1, lang, "\n".join(body) + "\n", directive, derr)
        block.previous = blocks[-1] if blocks else None
        if blocks:
            blocks[-1].next = block
        blocks.append(block)
        i += 1  # past the closing fence
    if pending:
        errors.append(f"{rel}:{pending[0]}: snippet directive not followed by a fence")
    return blocks, errors


def first_errors(output):
    """The compiler's first error lines (from the first line naming an error)."""
    lines = output.strip().splitlines()
    for n, line in enumerate(lines):
        if "error" in line.lower():
            return lines[n:n + ERROR_LINES]
    return lines[:ERROR_LINES]


class Checker:
    def __init__(self, src, build, cxx, cc, tmp):
        self.src, self.build, self.cxx, self.cc, self.tmp = src, build, cxx, cc, tmp
        self.count = 0

    def run(self, cmd, **kw):
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
        return p.returncode, p.stdout

    def write(self, name, text):
        self.count += 1
        path = os.path.join(self.tmp, f"{self.count}-{name}")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    # --- C and C++ -------------------------------------------------------
    def schema_dirs(self, b):
        """Include dirs of generated X.capnp.h the snippet needs; and errors."""
        dirs, errors = [], []
        for name in SCHEMA_INCLUDE.findall(b.text):
            found = []
            for root, _, files in os.walk(self.build):
                if name + ".capnp.h" in files:
                    found.append(root)
            if not found:
                errors.append(f'"{name}.capnp.h" is not in {self.build}: build first')
                continue
            found.sort(key=lambda d: (d.count(os.sep), d))
            dirs.append(found[0])
        return dirs, errors

    def check_capnp(self, prev):
        """A capnp block just before a C++ snippet that includes "X.capnp.h"
        is an excerpt of the tree's X.capnp; None when no snippet needs it."""
        b = prev.next
        if b is None or b.lang not in CXX_TAGS or b.directive:
            return None
        names = SCHEMA_INCLUDE.findall(b.text)
        if len(names) != 1:
            return None
        name = names[0]
        sources = []
        for root, dirs, files in os.walk(self.src):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "build"]
            if name + ".capnp" in files:
                sources.append(os.path.join(root, name + ".capnp"))
        if len(sources) != 1:
            return False, [f"{b.path}:{b.line} includes \"{name}.capnp.h\", but the tree has "
                           f"{len(sources)} files {name}.capnp (one expected)"]

        def significant(text):
            out = []
            for line in text.splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    out.append(" ".join(line.split()))
            return out

        with open(sources[0], encoding="utf-8") as f:
            whole = significant(f.read())
        rel = os.path.relpath(sources[0], self.src)
        pos = 0
        for line in significant(prev.text):
            while pos < len(whole) and whole[pos] != line:
                pos += 1
            if pos == len(whole):
                return False, [f"not an excerpt of {rel}: '{line}' is not there (in this order)"]
            pos += 1
        return True, [], f"an excerpt of {rel}, needed by line {b.line}"

    def wrap(self, b, func):
        """A fragment as a translation unit: # lines at file scope, the rest
        in a function body, every line keeping its Markdown line number."""
        first = b.line + 1
        lines = b.text.splitlines()
        head, body = [], []
        continued = False
        for n, line in enumerate(lines):
            if continued or line.lstrip().startswith("#"):
                head.append(f'#line {first + n} "{b.path}"')
                head.append(line)
                body.append("")
                continued = line.rstrip().endswith("\\")
            else:
                body.append(line)
        return ("\n".join(head) + f"\n{func}\n" + f'#line {first} "{b.path}"\n'
                + "\n".join(body) + "\n}\n")

    def as_file(self, b):
        return f'#line {b.line + 1} "{b.path}"\n' + b.text

    def check_compiled(self, b, cpp):
        if cpp:
            compiler, ext = self.cxx, "cpp"
            flags = ["-std=c++20", "-pedantic-errors",
                     "-I", os.path.join(self.src, "lib", "include"),
                     "-I", os.path.join(self.build, "lib", "include"),
                     "-I", os.path.join(self.src, "bindings", "c", "include")]
            func = "[[maybe_unused]] static void ringdrop_doc_snippet() {"
        else:
            compiler, ext = self.cc, "c"
            flags = ["-std=c99", "-pedantic-errors",
                     "-I", os.path.join(self.src, "bindings", "c", "include"),
                     "-I", os.path.join(self.src, "lib", "include"),
                     "-I", os.path.join(self.build, "lib", "include")]  # ringdrop/version.h
            func = "static void ringdrop_doc_snippet(void) {"
        schema_dirs, errors = self.schema_dirs(b) if cpp else ([], [])
        if errors:
            return False, errors
        for d in schema_dirs:
            flags += ["-I", d]
        if HAS_MAIN.search(b.text):
            path = self.write(f"snippet.{ext}", self.as_file(b))
            exe = path + ".out"
            if cpp:
                libs = [os.path.join(self.build, "lib", "libringdrop.a")]
                for d in schema_dirs:
                    lib = os.path.join(os.path.dirname(d), f"lib{os.path.basename(d)}.a")
                    if os.path.exists(lib):
                        libs.append(lib)
                libs += ["-lcapnp", "-lkj", "-pthread"]
            else:
                libdir = os.path.join(self.build, "lib")
                libs = ["-L", libdir, f"-Wl,-rpath,{libdir}", "-lringdrop"]
            rc, out = self.run([compiler, *flags, path, "-o", exe, *libs])
            return rc == 0, ([] if rc == 0 else first_errors(out)), "program, compiled and linked"
        path = self.write(f"fragment.{ext}", self.wrap(b, func))
        rc, out = self.run([compiler, *flags, "-fsyntax-only", path])
        if rc == 0:
            return True, [], "fragment, as a function body, syntax"
        path2 = self.write(f"declarations.{ext}", self.as_file(b))
        rc2, out2 = self.run([compiler, *flags, "-fsyntax-only", path2])
        if rc2 == 0:
            return True, [], "declarations, syntax"
        errs = first_errors(out)
        also = first_errors(out2)
        if also:
            errs.append("(as a file of declarations instead: " + also[0].strip() + ")")
        return False, errs

    # --- Python and shell ------------------------------------------------
    def check_python(self, b):
        padded = "\n" * b.line + b.text  # line numbers as in the Markdown file
        try:
            compile(padded, b.path, "exec")
        except SyntaxError as e:
            return False, [f"{e.filename}:{e.lineno}: SyntaxError: {e.msg}", (e.text or "").rstrip()]
        if not PY_MAIN.search(b.text):
            return True, [], "compiled"
        path = self.write("snippet.py", padded)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [os.path.join(self.src, "bindings", "python")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["RINGDROP_LIBRARY"] = os.path.join(self.build, "lib", "libringdrop.so")
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        cwd = tempfile.mkdtemp(dir=self.tmp)
        try:
            rc, out = self.run([sys.executable, path], env=env, cwd=cwd, timeout=120)
        except subprocess.TimeoutExpired:
            return False, ["did not finish within 120 s"]
        if rc != 0:
            lines = out.strip().splitlines()
            return False, [f"exit status {rc}"] + lines[-ERROR_LINES:]
        return True, [], "compiled and run"

    def check_shell(self, b):
        path = self.write("snippet.sh", "\n" * b.line + b.text)
        rc, out = self.run(["bash", "-n", path])
        if rc == 0:
            return True, [], "bash -n"
        return False, [line.replace(path, b.path) for line in first_errors(out)]

    def check(self, b):
        """(passed, error lines, how) or None when the block is not checked."""
        if b.lang in CXX_TAGS:
            r = self.check_compiled(b, cpp=True)
        elif b.lang in C_TAGS:
            r = self.check_compiled(b, cpp=False)
        elif b.lang in PY_TAGS:
            r = self.check_python(b)
        elif b.lang in SH_TAGS:
            r = self.check_shell(b)
        elif b.lang == "capnp":
            r = self.check_capnp(b)
            if r is None:
                return None
        else:
            return None
        return r if len(r) == 3 else (r[0], r[1], "")


def kind(lang):
    """The name a summary counts a language tag under."""
    for tags, name in ((CXX_TAGS, "C++"), (C_TAGS, "C"), (PY_TAGS, "Python"), (SH_TAGS, "shell")):
        if lang in tags:
            return name
    return lang


def markdown_files(src):
    files = ["README.md"] if os.path.exists(os.path.join(src, "README.md")) else []
    docs = os.path.join(src, "docs")
    if os.path.isdir(docs):
        files += sorted("docs/" + f for f in os.listdir(docs) if f.endswith(".md"))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source_dir")
    ap.add_argument("build_dir")
    ap.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    ap.add_argument("-v", "--verbose", action="store_true", help="list unchecked blocks too")
    args = ap.parse_args()
    src, build = os.path.abspath(args.source_dir), os.path.abspath(args.build_dir)
    if not os.path.isdir(os.path.join(build, "lib", "include")):
        print(f"doc_snippets: {build} is not a built ringdrop build tree (no lib/include)")
        return 2

    failures, counts = [], {}
    with tempfile.TemporaryDirectory(prefix="ringdrop-doc-snippets-") as tmp:
        checker = Checker(src, build, args.cxx, args.cc, tmp)
        for rel in markdown_files(src):
            blocks, errors = parse(src, rel)
            for e in errors:
                print(f"{e}: FAILED")
                failures.append(e)
            for b in blocks:
                where = f"{b.path}:{b.line}: {b.lang or '(untagged)'}"
                if b.directive_error:
                    print(f"{where}: FAILED\n    {b.directive_error}")
                    failures.append(where)
                    continue
                if b.directive:
                    print(f"{where}: skipped ({b.directive[1]})")
                    counts[(kind(b.lang), "skipped")] = counts.get((kind(b.lang), "skipped"), 0) + 1
                    continue
                result = checker.check(b)
                if result is None:
                    if args.verbose:
                        print(f"{where}: not checked")
                    continue
                passed, errs, how = result
                key = (kind(b.lang), "ok" if passed else "failed")
                counts[key] = counts.get(key, 0) + 1
                if passed:
                    print(f"{where}: ok ({how})")
                else:
                    print(f"{where}: FAILED")
                    for e in errs:
                        print("    " + e)
                    failures.append(where)
                sys.stdout.flush()

    summary = ", ".join(f"{n} {lang} {state}" for (lang, state), n in sorted(counts.items()))
    print(f"doc snippets: {summary or 'none'}")
    if failures:
        print(f"{len(failures)} failed:")
        for f in failures:
            print("  " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
