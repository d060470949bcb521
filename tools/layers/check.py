#!/usr/bin/env python3
"""The shape of the code, checked (CI runs it; docs/ARCHITECTURE.md explains it):
- no circles: no two source files import each other, directly or through others;
- the layers point one way: each top-level module imports only the ones listed below;
- no database code in the HTTP adapters (`src/http`): they parse, call a use case, render;
- no page handler file over 600 lines;
- every statement that changes a campaign's row names it through `db::changing_campaign`,
  which outdates its cached copy (ADR 0023); raw `UPDATE campaigns` only in the group commit,
  which names its rows itself."""
import os, re, sys

sys.path.insert(0, os.path.dirname(__file__))
import imports  # noqa: E402

ALLOWED = {
    "domain": set(),
    "clock": set(),
    "locale": {"domain"},
    "config": {"domain"},
    "telemetry": {"config", "db"},
    "auth": {"config", "domain"},
    "db": {"auth", "clock", "config", "domain"},
    "notify": {"clock", "config", "db", "domain", "locale"},
    "providers": {"clock", "config", "db", "domain"},
    "app": {"auth", "clock", "config", "db", "domain", "locale", "notify", "providers", "telemetry"},
    "jobs": {"app", "clock", "config", "db", "domain", "notify", "providers", "telemetry"},
    "demo": {"app", "auth", "clock", "config", "db", "domain", "locale", "providers"},
    "http": {"app", "auth", "clock", "config", "db", "domain", "locale", "providers", "telemetry"},
    "cli": None,  # the entry point may use everything
    "lib": None,
    "main": None,
}
DB_CODE = re.compile(r"\bdiesel\b|db::schema|DbConnection|write_tx")
CAMPAIGN_WRITE = re.compile(r"update\(\s*campaigns::table(?!\s*\.find\(\s*crate::db::changing_campaign\()")
RAW_CAMPAIGN_WRITE = re.compile(r"UPDATE\s+campaigns\b", re.I)
RAW_ALLOWED = {"db/group_commit.rs"}


def top(f):
    return f.split("/")[0].removesuffix(".rs")


def main():
    problems = []
    g = imports.graph()
    for c in imports.circles(g):
        problems.append("import circle: " + " ".join(c))
    for a, targets in sorted(g.items()):
        allowed = ALLOWED.get(top(a), set())
        if allowed is None:
            continue
        for b in sorted(targets):
            if top(a) != top(b) and top(b) not in allowed:
                problems.append(f"{a} imports {b}: {top(a)} may not use {top(b)}")
    root = imports.ROOT
    for dirpath, _, files in os.walk(os.path.join(root, "http")):
        for name in files:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            text = open(path, encoding="utf-8").read()
            for n, line in enumerate(text.splitlines(), 1):
                code = line.split("//")[0]
                if DB_CODE.search(code):
                    problems.append(f"src/{rel}:{n}: database code in an HTTP adapter")
            if rel.startswith("http/pages/") and text.count("\n") > 600:
                problems.append(f"src/{rel}: {text.count(chr(10))} lines (at most 600)")
    for dirpath, _, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            text = open(path, encoding="utf-8").read()
            for m in CAMPAIGN_WRITE.finditer(text):
                n = text.count("\n", 0, m.start()) + 1
                problems.append(f"src/{rel}:{n}: a campaign row changed without db::changing_campaign")
            if rel not in RAW_ALLOWED:
                for m in RAW_CAMPAIGN_WRITE.finditer(text):
                    n = text.count("\n", 0, m.start()) + 1
                    problems.append(f"src/{rel}:{n}: raw UPDATE campaigns outside the group commit")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print(f"layers: {len(g)} files, no circle, every import points one way")


if __name__ == "__main__":
    main()
