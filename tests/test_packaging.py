"""Packaging: the wheel carries the distribution name `sla-reconciler` (the name `reconciler` on
the package index is another project's), installs into a fresh virtualenv and gives a working
`reconciler` command; the Dockerfile's image runs `reconciler`; `required_version` pins a range."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from helpers import REPO, Project, policy

from reconciler import __version__

DISTRIBUTION = "sla-reconciler"


def test_the_wheel_installs_in_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, REPO],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("*.whl")
    assert wheel.name.startswith(f"sla_reconciler-{__version__}-"), wheel.name
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies already installed here, seen after the fresh venv's own packages (no index).
    (site / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
        timeout=300,
    )
    where = subprocess.run(
        [
            python,
            "-c",
            f"import reconciler, importlib.metadata as m; print(reconciler.__file__, m.version({DISTRIBUTION!r}))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: its `reconciler/` would shadow the installed one
    ).stdout
    assert where.startswith(str(site)) and where.split()[1] == __version__, where
    help_text = subprocess.run(
        [venv / "bin" / "reconciler", "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert help_text.returncode == 0 and "Exit codes:" in help_text.stdout, help_text.stderr


def test_the_distribution_name_is_set() -> None:
    assert f'name = "{DISTRIBUTION}"' in (REPO / "pyproject.toml").read_text()
    readme = (REPO / "README.md").read_text()
    assert f"pip install '{DISTRIBUTION}==" in readme


def test_the_dockerfile_image_runs_reconciler() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["reconciler"]' in dockerfile and 'pip install ".[sandbox]"' in dockerfile


def test_required_version_mismatch_is_an_error(project: Project) -> None:
    project.write("p.yaml", policy("x", ["w"]))
    project.write("reconciler.yaml", "project: test\nrequired_version: '>=99'\n")
    for command in ("validate", "plan"):
        result = project.cli(command)
        assert result.exit_code == 1
        assert (
            f"reconciler.yaml:2: required_version: these specs require reconciler >=99, this is {__version__}"
            in result.stderr
        ), result.stderr
    project.write("reconciler.yaml", f"project: test\nrequired_version: '>={__version__},<99'\n")
    assert project.cli("validate").exit_code == 0
    project.write("reconciler.yaml", "project: test\nrequired_version: 'soon'\n")
    result = project.cli("validate")
    assert (
        result.exit_code == 1 and "reconciler.yaml:2: required_version: 'soon' is not a version range" in result.stderr
    )
