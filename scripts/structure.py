#!/usr/bin/env python3
"""Structure check of host/src: the import graph (cycles, imports up the layers) and
the longest functions.

Every `crate::`, `super::`, `self::` and child-module path in a file (in `use` items and in
code) is resolved to the file that defines the item it names: a `pub use` re-export is
followed to its source, so a facade `mod.rs` that re-exports its children does not count
as importing them. `mod x;` declarations are not imports.

    scripts/structure.py                 # summary: cycles, upward imports, long functions
    scripts/structure.py --edges         # also every file → file edge
    scripts/structure.py --max-fn 80     # exit 1 if any function is longer (lines)
    scripts/structure.py --check         # exit 1 on any cycle or upward import

Layers (lowest first) are listed in LAYERS; a folder may import its own layer or lower.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "host", "src")

# Lowest first. Folders on one line share a layer and must not import each other both ways.
LAYERS = [
    ["record", "base"],
    ["job", "wasm"],
    ["batch", "brokers"],
    ["source", "sink", "ops", "wal"],
    ["checkpoint"],
    ["exec"],
    ["observe"],
    ["serve"],
    ["lib"],
    ["cli", "main"],
]


def layer_of(folder):
    for i, names in enumerate(LAYERS):
        if folder in names:
            return i
    return None


# ---------------------------------------------------------------- lexing


def strip_comments_and_strings(text):
    """Blank out comments, string and char literals, keeping newlines and offsets."""
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
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif re.match(r'(b?r)(#*)"', text[i:i + 8]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'(b?r)(#*)"', text[i:i + 8])
            close = '"' + m.group(2)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append('"' + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + '"')
            i = j
        elif c == "'":
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\x[0-9a-fA-F]{2}|\\.|[^\\'\n])'", text[i:i + 12])
            if m:
                out.append("' '" + " " * (len(m.group(0)) - 3))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- modules


def discover():
    """Map module path (tuple) → file, for the library (lib.rs) and the binary (main.rs)."""
    modules = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
            parts = rel[:-3].split(os.sep)
            if parts == ["lib"]:
                key = ()
            elif parts == ["main"]:
                key = ("#main",)
            elif parts[-1] == "mod":
                key = tuple(parts[:-1])
            else:
                key = tuple(parts)
            modules[key] = rel
    return modules


def split_top(s, sep=","):
    parts, depth, cur = [], 0, []
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def expand_use(tree, prefix=()):
    """`a::{b, c::d as e}` → [(path tuple, alias)]."""
    tree = tree.strip()
    m = re.match(r"^(.*?)::\{(.*)\}$", tree, re.S)
    if m:
        base = tuple(x.strip() for x in m.group(1).split("::") if x.strip())
        out = []
        for sub in split_top(m.group(2)):
            out += expand_use(sub, prefix + base)
        return out
    if tree.startswith("{") and tree.endswith("}"):
        out = []
        for sub in split_top(tree[1:-1]):
            out += expand_use(sub, prefix)
        return out
    alias = None
    m = re.match(r"^(.*)\s+as\s+(\w+)$", tree, re.S)
    if m:
        tree, alias = m.group(1).strip(), m.group(2)
    path = prefix + tuple(x.strip() for x in tree.split("::") if x.strip())
    if alias is None:
        alias = path[-1] if path else None
    if path and path[-1] == "self":
        path = path[:-1]
        alias = alias if alias != "self" else (path[-1] if path else None)
    return [(path, alias)]


class Module:
    def __init__(self, key, rel, text):
        self.key, self.rel = key, rel
        self.text = strip_comments_and_strings(text)
        self.uses = []  # (absolute path, alias, is_pub, line)
        self.reexports = {}  # name → absolute path
        self.children = set()


def absolutize(path, modkey, modules, inline_depth=0):
    """Resolve the first segments of a path to an absolute module path tuple, or None."""
    if not path:
        return None
    head = path[0]
    base = modkey if modkey != ("#main",) else ()
    if head in ("crate", "sluice"):
        if modkey == ("#main",) or (modkey and modkey[0] == "cli"):
            # The binary: `crate::cli::…` is the binary, `sluice::…` the library.
            return path[1:] if head == "sluice" or path[1:2] != ("cli",) else path[1:]
        return path[1:]
    if head == "self":
        return base + path[1:]
    if head == "super":
        cur = list(base)
        rest = list(path)
        ups = inline_depth
        while rest and rest[0] == "super":
            rest.pop(0)
            if ups:
                ups -= 1
                continue
            if cur:
                cur.pop()
        return tuple(cur) + tuple(rest)
    if base + (head,) in modules:
        return base + path
    return None


def find_module(abs_path, modules):
    """Longest module prefix of abs_path → (module key, remaining segments)."""
    for k in range(len(abs_path), -1, -1):
        if abs_path[:k] in modules:
            return abs_path[:k], abs_path[k:]
    return None, abs_path


def resolve_item(abs_path, mods, seen=None):
    """The file (module key) defining the item named by abs_path, following re-exports."""
    seen = seen or set()
    key, rest = find_module(abs_path, mods)
    if key is None:
        return None
    if rest and rest[0] in mods[key].reexports and (key, rest[0]) not in seen:
        seen.add((key, rest[0]))
        target = mods[key].reexports[rest[0]]
        return resolve_item(target + rest[1:], mods, seen)
    return key


USE_RE = re.compile(r"(?m)^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
MOD_RE = re.compile(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;")
INLINE_MOD_RE = re.compile(r"\bmod\s+\w+\s*\{")
PATH_RE = re.compile(r"(?<![\w:])((?:crate|super|self|sluice|[a-z_][a-z0-9_]*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def inline_depth_at(text, pos, inline_spans):
    return sum(1 for (a, b) in inline_spans if a <= pos < b)


def inline_mod_spans(text):
    spans = []
    for m in INLINE_MOD_RE.finditer(text):
        depth, j = 0, m.end() - 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        spans.append((m.end(), j))
    return spans


def build_graph():
    files = discover()
    mods = {}
    for key, rel in files.items():
        with open(os.path.join(ROOT, rel), encoding="utf-8") as fh:
            mods[key] = Module(key, rel, fh.read())
    for key, m in mods.items():
        for mm in MOD_RE.finditer(m.text):
            m.children.add(mm.group(1))
        spans = inline_mod_spans(m.text)
        m.spans = spans
        for u in USE_RE.finditer(m.text):
            depth = inline_depth_at(m.text, u.start(), spans)
            line = m.text.count("\n", 0, u.start()) + 1
            for path, alias in expand_use(u.group(2)):
                ab = absolutize(path, key, mods, depth)
                if ab is None:
                    continue
                is_pub = bool(u.group(1)) and depth == 0
                m.uses.append((ab, alias, is_pub, line, depth))
                if is_pub and alias and alias != "*":
                    m.reexports[alias] = ab
    edges = defaultdict(set)  # (from key) → {(to key)}
    where = {}
    for key, m in mods.items():
        aliases = {}
        for ab, alias, is_pub, line, depth in m.uses:
            if is_pub:
                continue
            target = resolve_item(ab, mods) if alias != "*" else find_module(ab, mods)[0]
            if alias == "*":
                # glob of a module: depends on that module
                tk, rest = find_module(ab, mods)
                target = tk if not rest else resolve_item(ab, mods)
            if target is not None and target != key:
                edges[key].add(target)
                where.setdefault((key, target), line)
            if alias and alias != "*" and ab in mods:
                aliases[alias] = ab
        use_spans = [(u.start(), u.end()) for u in USE_RE.finditer(m.text)]
        for p in PATH_RE.finditer(m.text):
            if any(a <= p.start() < b for a, b in use_spans):
                continue
            segs = tuple(p.group(1).split("::"))
            depth = inline_depth_at(m.text, p.start(), m.spans)
            if segs[0] in aliases:
                ab = aliases[segs[0]] + segs[1:]
            else:
                ab = absolutize(segs, key, mods, depth)
                if ab is None:
                    continue
            target = resolve_item(ab, mods)
            if target is not None and target != key and target != ():
                edges[key].add(target)
                where.setdefault((key, target), m.text.count("\n", 0, p.start()) + 1)
    return mods, edges, where


def folder_of(key):
    if key == ():
        return "lib"
    if key == ("#main",):
        return "main"
    return key[0]


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


# ---------------------------------------------------------------- functions

FN_RE = re.compile(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+(\w+)")


def functions(mods):
    out = []
    for key, m in mods.items():
        t = m.text
        for f in FN_RE.finditer(t):
            j = f.end()
            depth = 0
            # find the body's opening brace (or `;` for a declaration)
            while j < len(t) and t[j] not in "{;":
                if t[j] in "([<":
                    depth += 1
                elif t[j] in ")]>" and depth:
                    depth -= 1
                j += 1
            if j >= len(t) or t[j] == ";":
                continue
            start_line = t.count("\n", 0, f.start()) + 1
            depth = 0
            while j < len(t):
                if t[j] == "{":
                    depth += 1
                elif t[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            end_line = t.count("\n", 0, j) + 1
            out.append((end_line - start_line + 1, m.rel, start_line, f.group(1)))
    out.sort(reverse=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", action="store_true", help="print every file → file edge")
    ap.add_argument("--top", type=int, default=15, help="how many longest functions to list")
    ap.add_argument("--max-fn", type=int, default=None, help="fail if a function is longer")
    ap.add_argument("--check", action="store_true", help="fail on cycles or upward imports")
    args = ap.parse_args()

    mods, edges, where = build_graph()
    name = {k: m.rel for k, m in mods.items()}
    fail = False

    file_cycles = sccs(mods.keys(), edges)
    print(f"files: {len(mods)}, file→file edges: {sum(len(v) for v in edges.values())}")
    print(f"file cycles: {len(file_cycles)}")
    for c in file_cycles:
        print("  " + " ↔ ".join(name[k] for k in c))
        members = set(c)
        for a in c:
            for b in sorted(edges[a] & members):
                print(f"      {name[a]}:{where[(a, b)]} → {name[b]}")

    fedges = defaultdict(set)
    fwhere = defaultdict(list)
    for a, tos in edges.items():
        for b in tos:
            fa, fb = folder_of(a), folder_of(b)
            if fa != fb:
                fedges[fa].add(fb)
                fwhere[(fa, fb)].append(f"{name[a]}:{where[(a, b)]} → {name[b]}")
    folder_cycles = sccs(set(folder_of(k) for k in mods), fedges)
    print(f"folder cycles: {len(folder_cycles)}")
    for c in folder_cycles:
        print("  " + " ↔ ".join(c))
    both = sorted({tuple(sorted((a, b))) for a in fedges for b in fedges[a] if a in fedges.get(b, ())})
    print(f"folder pairs importing each other: {len(both)}")
    for a, b in both:
        print(f"  {a} ↔ {b}")
        for w in fwhere[(a, b)][:3] + fwhere[(b, a)][:3]:
            print(f"      {w}")

    upward = []
    for (fa, fb), ws in sorted(fwhere.items()):
        la, lb = layer_of(fa), layer_of(fb)
        if la is not None and lb is not None and lb > la:
            upward.append((fa, fb, ws))
    print(f"upward imports (folder → higher layer): {len(upward)}")
    for fa, fb, ws in upward:
        print(f"  {fa} → {fb} ({len(ws)} file edges)")
        for w in ws[:3]:
            print(f"      {w}")

    print("folder → folder:")
    for fa in sorted(fedges):
        print(f"  {fa:10} → {', '.join(sorted(fedges[fa]))}")

    fns = functions(mods)
    print(f"longest functions (of {len(fns)}):")
    for length, rel, line, fname in fns[: args.top]:
        print(f"  {length:4}  {rel}:{line} {fname}")
    if args.max_fn is not None:
        over = [f for f in fns if f[0] > args.max_fn]
        print(f"functions over {args.max_fn} lines: {len(over)}")
        if over:
            fail = True

    if args.edges:
        print("edges:")
        for a in sorted(edges, key=lambda k: name[k]):
            for b in sorted(edges[a], key=lambda k: name[k]):
                print(f"  {name[a]} → {name[b]}")

    if args.check and (file_cycles or folder_cycles or both or upward):
        fail = True
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
