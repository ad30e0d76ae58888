#!/usr/bin/env python3
"""Lists the longest C++ functions of the tree, and fails on new long ones.

    scripts/function_sizes.py [--limit N] [--top K] [--check] [ROOT]

A function's length is the lines from its signature's first line to its
closing brace. The scan is lexical (comments and literals blanked, braces
matched), which is exact for this tree's style and needs no compile flags.
Numerical kernels (runtime/cpu/, runtime/cuda/, runtime/*.h kernel headers)
are exempt: a fused kernel reads best whole. With --check, every other
function longer than --limit (150) fails the run, naming file:line.
"""
import argparse
import os
import re
import sys

SOURCE_DIRS = ["dialect", "passes", "frontend", "runtime", "tools", "tests",
               "bench"]
EXEMPT = [
    re.compile(r"^runtime/(cpu|cuda)/"),
    # The kernel helpers the backends share.
    re.compile(r"^runtime/(HalfStaged|Philox|ReduceShape|SiSdr)\.h$"),
    re.compile(r"^tests/"),  # test bodies are lists of cases
    re.compile(r"^bench/"),
]
CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof",
           "decltype", "alignof", "static_assert"}
QUALIFIERS = {"const", "noexcept", "override", "final", "mutable", "try"}
AGGREGATE = re.compile(
    r"^\s*(template\s*<.*>\s*)?(class|struct|union|enum|namespace)\b", re.S)
# extern "C" { (the literal is blanked by then): a scope, not a function.
EXTERN_BLOCK = re.compile(r"^\s*extern\s*$")


def blank(text):
    """Comments, string and character literals replaced by spaces (newlines
    kept), so that braces inside them do not count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = ')' + m.group(1) + '"' if m else '"'
            j = text.find(end, i + 2)
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():
                out.append(c)  # a digit separator: 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            j = i
            while True:  # a directive, with its continuation lines
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def is_function_head(head):
    """Whether the text between the previous statement and a '{' at
    namespace or class scope declares a function body."""
    head = head.strip()
    if (not head or AGGREGATE.match(head) or EXTERN_BLOCK.match(head) or
            "(" not in head):
        return False
    if re.search(r"=\s*$", head) or head.endswith(("]", ",")):
        return False
    tail = head
    # Strip trailing qualifiers and a trailing return type.
    while True:
        words = re.match(r"^(.*?)(\s*(\w+)\s*)$", tail, re.S)
        if words and words.group(3) in QUALIFIERS:
            tail = words.group(1)
            continue
        arrow = re.match(r"^(.*\))\s*->\s*[\w:<>,\s*&]+$", tail, re.S)
        if arrow:
            tail = arrow.group(1)
            continue
        break
    if tail.endswith(")") or (tail.endswith("}") and re.search(r"\)\s*:", head)):
        name = re.search(r"(\w+)\s*\(", head)
        return bool(name) and name.group(1) not in CONTROL
    return False


def functions(path):
    """(name, first line, length) of each function body in `path`."""
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    result = []
    stack = []  # (kind, start offset of the head, name)
    head_start = 0
    for i, c in enumerate(text):
        if c == "{":
            in_function = any(kind == "fn" for kind, _, _ in stack)
            if in_function:
                stack.append(("block", i, ""))
            else:
                head = text[head_start:i]
                if is_function_head(head):
                    lead = len(head) - len(head.lstrip())
                    name = re.search(r"([\w:~<>]+)\s*\(", head).group(1)
                    stack.append(("fn", head_start + lead, name))
                else:
                    stack.append(("scope", i, ""))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "fn":
                    first = text.count("\n", 0, start) + 1
                    last = text.count("\n", 0, i) + 1
                    result.append((name, first, last - first + 1))
            head_start = i + 1
        elif c == ";" and not any(k == "fn" for k, _, _ in stack):
            head_start = i + 1
        elif c == ":" and not any(k == "fn" for k, _, _ in stack):
            # public: / private: labels end a head; '::' and ctor ': x(a)'
            # do not.
            before = text[head_start:i].strip()
            if before in ("public", "private", "protected"):
                head_start = i + 1
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?",
                        default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    rows = []
    for top in SOURCE_DIRS:
        for dirpath, dirs, files in os.walk(os.path.join(root, top)):
            # Virtual environments (bench/.venv holds torch's headers) and
            # build folders are not ours.
            dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
            for f in files:
                if not f.endswith((".cpp", ".h", ".cu", ".cuh")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                exempt = any(p.search(rel) for p in EXEMPT)
                for name, line, length in functions(path):
                    rows.append((length, rel, line, name, exempt))
    rows.sort(reverse=True)
    if args.top:
        for length, rel, line, name, exempt in rows[: args.top]:
            print(f"{length:5d}  {rel}:{line}  {name}"
                  + ("  (exempt)" if exempt else ""))
    if args.check:
        long = [r for r in rows if not r[4] and r[0] > args.limit]
        for length, rel, line, name, _ in long:
            print(f"{rel}:{line}: error: function '{name}' is {length} lines "
                  f"(limit {args.limit}); split it into named steps")
        if long:
            return 1
        print(f"function sizes: {len(rows)} functions, none outside the "
              f"numerical kernels over {args.limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
