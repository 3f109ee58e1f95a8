"""Providers are handed a narrow request: the declared objects of the kinds they name, no more."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import ReconcilerError
from reconciler.kinds.base import Resource, SourceRef
from reconciler.providers.request import ProviderRequest

PACKAGE = Path(__file__).resolve().parent.parent / "reconciler"


def _res(kind: str, name: str) -> Resource[Any]:
    return Resource(kind=kind, name=name, key=name, spec=None, state={}, source=SourceRef("specs/x.yaml", 1))


RESOURCES = [_res("GrafanaFolder", "f"), _res("GrafanaRuleGroup", "g"), _res("SlaPolicy", "p")]


def test_a_request_holds_its_own_kind_and_the_kinds_it_sees() -> None:
    req = ProviderRequest.build("GrafanaRuleGroup", "reconciler/demo", "demo", RESOURCES, ("GrafanaFolder",))
    assert [r.name for r in req.of()] == ["g"]
    assert [r.name for r in req.of("GrafanaFolder")] == ["f"]
    assert req.any_of(("GrafanaFolder",)) and req.owner == "reconciler/demo" and req.project == "demo"


def test_a_kind_seen_but_not_declared_is_empty_not_missing() -> None:
    req = ProviderRequest.build("GrafanaAlertRule", "o", "p", RESOURCES, ())
    assert req.of() == [] and not req.any_of(("GrafanaAlertRule",))


def test_asking_for_a_kind_outside_the_request_fails_loudly() -> None:
    req = ProviderRequest.build("GrafanaFolder", "o", "p", RESOURCES, ())
    with pytest.raises(ReconcilerError, match="SlaPolicy specs outside its request"):
        req.of("SlaPolicy")


def test_no_provider_reaches_the_whole_spec_set() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for folder in ("providers", "grafana")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"context\.(_?specs)\b", line)
    ]
    assert offenders == []


# The provider modules: every backend's, and Grafana's (the shared backends included).
PROVIDER_MODULES = [
    *sorted(
        p for p in (PACKAGE / "providers").glob("*.py") if p.name not in ("provider_target.py", "provider_registry.py")
    ),
    *(
        PACKAGE / "grafana" / n
        for n in ("providers.py", "notification_providers.py", "snapshot.py", "spec_generation.py")
    ),
]


def test_each_provider_call_is_handed_its_request_and_providers_see_a_narrow_target() -> None:
    """No provider holds the run's TargetContext or a request of its own, and no call is handed
    `desired` beside its request: specs come per call, endpoints and configuration through
    `ProviderTarget` (provider_target.py, the one adaptor, and the registry that builds
    providers are the exceptions)."""
    held = re.compile(r"self\.context\b|self\.request\b|\(self, desired\b|import TargetContext\b|context\.request\(")
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in PROVIDER_MODULES
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if held.search(line)
    ]
    assert offenders == []


def test_the_provider_interface_takes_the_request_per_call() -> None:
    import inspect

    from reconciler.providers.base import Provider

    for name in ("configured", "read", "check", "apply", "declaring", "import_key", "adopt", "generate_specs"):
        params = list(inspect.signature(getattr(Provider, name)).parameters)
        assert params[:2] == ["self", "request"], (name, params)
