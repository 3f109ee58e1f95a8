"""A stand-in for GitHub's `gh` CLI in the CI-example test: records every call and answers the
few API calls examples/ci/github/reconciler.yml makes from a JSON state file (comments, pull
requests, workflow runs, artifacts), the way GitHub's REST API shapes them.

Run as `python stub_gh.py ARGS...` with STUB_GH_STATE pointing at a directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["STUB_GH_STATE"])


def load() -> dict[str, Any]:
    path = STATE / "state.json"
    if path.exists():
        return json.loads(path.read_text())
    return {"comments": [], "next_id": 1000, "pulls": {}, "runs": []}


def save(state: dict[str, Any]) -> None:
    (STATE / "state.json").write_text(json.dumps(state, indent=2))


def out(value: Any, jq: str | None) -> None:
    text = json.dumps(value)
    if jq is not None:  # gh's --jq prints raw strings, like `jq -r`
        text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
        sys.stdout.write(text)
    else:
        print(text)


def options(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    positional: list[str] = []
    opts: dict[str, list[str]] = {}
    flags = {"--paginate", "--slurp"}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and a not in flags:
            opts.setdefault(a, []).append(args[i + 1])
            i += 2
        elif a in flags:
            opts.setdefault(a, []).append("")
            i += 1
        else:
            positional.append(a)
            i += 1
    return positional, opts


def api(args: list[str], state: dict[str, Any]) -> None:
    (path,), opts = options(args)
    method = (opts.get("--method") or opts.get("-X") or ["GET"])[0]
    fields = {}
    for f in opts.get("-F", []) + opts.get("-f", []):
        name, value = f.split("=", 1)
        fields[name] = Path(value[1:]).read_text() if value.startswith("@") else value
    jq = (opts.get("--jq") or [None])[0]
    if m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/(\d+)/comments", path):
        if method == "GET":
            return out([c for c in state["comments"] if c["issue"] == int(m[1])], jq)
        comment = {"id": state["next_id"], "issue": int(m[1]), "body": fields["body"]}
        state["next_id"] += 1
        state["comments"].append(comment)
        return out(comment, jq)
    if (m := re.fullmatch(r"repos/[^/]+/[^/]+/issues/comments/(\d+)", path)) and method == "PATCH":
        (comment,) = [c for c in state["comments"] if c["id"] == int(m[1])]
        comment["body"] = fields["body"]
        return out(comment, jq)
    if m := re.fullmatch(r"repos/[^/]+/[^/]+/commits/([0-9a-f]+)/pulls", path):
        return out([p for p in state["pulls"].values() if m[1] in (p["merge_commit_sha"], p["head"]["sha"])], jq)
    if m := re.fullmatch(r"repos/[^/]+/[^/]+/pulls/(\d+)", path):
        return out(state["pulls"][m[1]], jq)
    sys.exit(f"stub gh: unexpected api call {method} {path}")


def run(args: list[str], state: dict[str, Any]) -> None:
    sub, *rest = args
    positional, opts = options(rest)
    if sub == "list":
        commit = opts["--commit"][0]
        runs = [r for r in reversed(state["runs"]) if r["headSha"] == commit and r["conclusion"] == "success"]
        return out(
            [{"databaseId": r["databaseId"]} for r in runs][: int(opts.get("--limit", ["20"])[0])],
            opts.get("--jq", [None])[0],
        )
    if sub == "download":
        (run_id,) = positional
        name = opts["--name"][0]
        source = STATE / "artifacts" / run_id / name
        if not source.exists():
            sys.exit(f"no artifact {name} in run {run_id}")
        shutil.copytree(source, Path(opts.get("--dir", ["."])[0]), dirs_exist_ok=True)
        return None
    sys.exit(f"stub gh: unexpected run call {args}")


def main() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "calls.jsonl").open("a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\n")
    state = load()
    command, *args = sys.argv[1:]
    if command == "api":
        api(args, state)
    elif command == "run":
        run(args, state)
    else:
        sys.exit(f"stub gh: unexpected command {command}")
    save(state)


if __name__ == "__main__":
    main()
