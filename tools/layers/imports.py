#!/usr/bin/env python3
"""Which source files import which (from `use` lines and `crate::`/`super::` paths), and the
circles among them: files that import each other, directly or through others."""
import os, re, sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "src")

def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return rel

def file_of(parts):
    """The file defining the longest prefix of `parts`."""
    for n in range(len(parts), 0, -1):
        base = os.path.join(ROOT, *parts[:n])
        for cand in (base + ".rs", os.path.join(base, "mod.rs")):
            if os.path.isfile(cand):
                return os.path.relpath(cand, ROOT)
    return None

def strip(text):
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)

def expand(prefix, body):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    out, depth, cur = [], 0, ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            item = cur.strip()
            cur = ""
            if not item:
                continue
            m = re.match(r"^([\w:]*?)::\{(.*)\}$", item, re.S)
            if m:
                out += expand(prefix + [p for p in m.group(1).split("::") if p], m.group(2))
            else:
                out.append(prefix + [p for p in item.split(" as ")[0].split("::") if p])
        else:
            cur += ch
    return out

def imports(path):
    mod = module_of(path)
    text = strip(open(path, encoding="utf-8").read())
    # Only the service's own code, not its tests module.
    text = text.split("#[cfg(test)]")[0]
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        paths += expand([], m.group(1).replace("\n", " "))
    for m in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
        paths.append(m.group(1).split("::"))
    out = set()
    for p in paths:
        if not p:
            continue
        if p[0] == "crate":
            parts = p[1:]
        elif p[0] == "super":
            base = list(mod)
            while p and p[0] == "super":
                base = base[:-1]
                p = p[1:]
            parts = base + p
        elif p[0] == "self":
            parts = list(mod) + p[1:]
        else:
            continue
        f = file_of(parts)
        if f and f != os.path.relpath(path, ROOT):
            out.add(f)
    return out

def graph():
    g = {}
    for dirpath, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".rs"):
                p = os.path.join(dirpath, name)
                g[os.path.relpath(p, ROOT)] = imports(p)
    return g

def circles(g):
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1
        stack.append(v); on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out

if __name__ == "__main__":
    g = graph()
    found = circles(g)
    for c in found:
        print("circle:", " ".join(c))
        for a in c:
            print("   ", a, "->", ", ".join(sorted(b for b in g[a] if b in c)))
    sys.exit(1 if found else 0)
