#!/usr/bin/env python3
"""Every bundled scenario is listed, tested and checks the facts of its idea.

For each scenarios/NAME.json: README.md has a table row for it, `mailsim list` prints
it, docs/tutorial.md names it (`NAME`), tests/golden/NAME.txt exists (so the golden
test runs it and fails on a NOT MET expectation), and its `expect` block states the
four kinds of fact issue 4 asks of a scenario: who held which role (`role`), which
mailbox held what (`mailbox` or `device`), how many bytes (`bytes`) and how long
(`latency`, or `trace` with `under` or `over`). A scenario that lacks one fails.

Usage: check_scenarios_listed.py MAILSIM SOURCE_DIR
"""
import glob
import json
import os
import subprocess
import sys

def kinds_of_fact(expect):
    """The kinds of fact an expect block states: role, mailbox, bytes, time."""
    kinds = set()
    for e in expect:
        if "role" in e:
            kinds.add("role")
        if "mailbox" in e or "device" in e:
            kinds.add("mailbox")
        if "bytes" in e:
            kinds.add("bytes")
        if "latency" in e or ("trace" in e and ("under" in e or "over" in e)):
            kinds.add("time")
    return kinds


def main():
    mailsim, source_dir = os.path.abspath(sys.argv[1]), sys.argv[2]
    readme = open(os.path.join(source_dir, "README.md"), encoding="utf-8").read()
    tutorial = open(os.path.join(source_dir, "docs/tutorial.md"), encoding="utf-8").read()
    listed = subprocess.run([mailsim, "list"], capture_output=True, encoding="utf-8",
                            cwd=source_dir).stdout.split("\n")
    names = sorted(os.path.basename(p)[:-len(".json")]
                   for p in glob.glob(os.path.join(source_dir, "scenarios/*.json"))
                   if not p.endswith(".schema.json"))
    failures = 0

    def fail(name, what):
        nonlocal failures
        failures += 1
        print(f"{name}: {what}")

    for name in names:
        if f"| scenarios/{name}.json |" not in readme:
            fail(name, "no row in README.md's scenario table")
        if not any(line.split()[:1] == [name] for line in listed):
            fail(name, "not printed by `mailsim list`")
        if f"`{name}`" not in tutorial:
            fail(name, "not named in docs/tutorial.md")
        if not os.path.exists(os.path.join(source_dir, "tests/golden", name + ".txt")):
            fail(name, "no golden file tests/golden/" + name + ".txt")
        doc = json.load(open(os.path.join(source_dir, "scenarios", name + ".json"),
                            encoding="utf-8"))
        missing = {"role", "mailbox", "bytes", "time"} - kinds_of_fact(doc.get("expect", []))
        if missing:
            fail(name, f"its expect block states no {', '.join(sorted(missing))} fact")
        if "lesson" not in doc:
            fail(name, "no lesson: its summary names no idea")
    print(f"check_scenarios_listed: {len(names)} scenarios, {failures} problems")
    return 1 if failures or not names else 0


if __name__ == "__main__":
    sys.exit(main())
