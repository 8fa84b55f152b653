#!/usr/bin/env python3
"""Every excerpt of mailsim's output quoted in the teaching pages must be real.

A page marks an excerpt with an HTML comment just before its code block:

    <!-- excerpt: rav-canada-to-uday-india --explain -->
    ```text
       0.108160  c1   smtp  rav-laptop/mua         mail.cms.com/smtpd     C: DATA
    ```

The comment names what to run: a bundled scenario's name or a .json path relative to
the source tree, then options of `mailsim run`, and optionally `exit=N` (default 0).
Each line of the block, but for lines that are only `...`, must be a line of that run's
stdout (trailing spaces ignored), in the same order, and two lines not parted by `...` must
be next to each other in the output too: a reader takes a block without `...` as whole.
`excerpt (pending: WHY): ...` marks
an excerpt of a scenario that is not in this tree yet: it is checked once the scenario
exists and reported as pending until then; a scenario missing without `pending` fails.

Usage: check_excerpts.py MAILSIM SOURCE_DIR [SIMGRID_ARGS...]
"""
import os
import re
import subprocess
import sys

PAGES = ["docs/tutorial.md", "docs/beyond-the-story.md", "docs/scenario-format.md"]
MARKER = re.compile(r"^<!-- excerpt(?: \(pending: (?P<why>[^)]*)\))?: (?P<run>.+?) -->$")


def read_excerpts(path):
    """The (line number, pending reason, run words, excerpt lines) of each marked block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            i += 1
            continue
        start = i + 1
        if start >= len(lines) or not lines[start].startswith("```"):
            sys.exit(f"{path}:{i + 1}: an excerpt marker must be followed by a code block")
        end = start + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        if end == len(lines):
            sys.exit(f"{path}:{start + 1}: the code block never ends")
        found.append((i + 1, m.group("why"), m.group("run").split(), lines[start + 1:end]))
        i = end + 1
    return found


def scenario_path(source_dir, name):
    """The file a run word names: a .json path in the tree, or a bundled scenario."""
    if name.endswith(".json"):
        return os.path.join(source_dir, name)
    return os.path.join(source_dir, "scenarios", name + ".json")


def main():
    mailsim, source_dir, sim_args = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    runs = {}
    failures = 0
    checked = 0
    pending = 0
    for page in PAGES:
        for line_no, why, words, excerpt in read_excerpts(os.path.join(source_dir, page)):
            where = f"{page}:{line_no}"
            exit_code = 0
            args = []
            for w in words:
                if w.startswith("exit="):
                    exit_code = int(w[5:])
                else:
                    args.append(w)
            path = scenario_path(source_dir, args[0])
            if not os.path.exists(path):
                if why is not None:
                    pending += 1
                    print(f"{where}: pending ({why}): {args[0]} is not in this tree yet")
                    continue
                print(f"{where}: {args[0]}: no such scenario ({path})")
                failures += 1
                continue
            key = tuple([path] + args[1:])
            if key not in runs:
                done = subprocess.run([mailsim, "run", path] + args[1:] + sim_args,
                                      capture_output=True, encoding="utf-8", errors="replace",
                                      cwd=source_dir)
                runs[key] = (done.returncode, [l.rstrip() for l in done.stdout.split("\n")])
            code, output = runs[key]
            if code != exit_code:
                print(f"{where}: mailsim run {' '.join(args)} exited with {code}, "
                      f"the page says {exit_code}")
                failures += 1
            at = 0
            joined = False  # the previous line was matched and no "..." came since
            for text in excerpt:
                want = text.rstrip()
                if want == "...":
                    joined = False
                    continue
                try:
                    found = output.index(want, at)
                except ValueError:
                    how = "in this order" if want in output else "at all"
                    print(f"{where}: not in the output of mailsim run {' '.join(args)} "
                          f"{how}:\n    {want}")
                    failures += 1
                    break
                if joined and found != at:
                    print(f"{where}: {found - at} line(s) of mailsim run {' '.join(args)} "
                          f"left out without a '...' before:\n    {want}")
                    failures += 1
                    break
                at = found + 1
                joined = True
            checked += 1
    print(f"check_excerpts: {checked} excerpts checked, {pending} pending, {failures} failed")
    if checked == 0:
        print("check_excerpts: no excerpts found")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
