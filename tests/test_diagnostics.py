"""The one diagnostics model: finders state an object and a path, resolution to file:line happens
once, and the text is the `file:line: field.path: message` every spec error has always had."""

from __future__ import annotations

from reconciler.diagnostics import Diagnostic, Severity, dotted, parse_path, resolve
from reconciler.kinds.base import Resource, SourceRef
from reconciler.specs.envelope import KindSpec


def resource(name: str, lines: dict[tuple[str | int, ...], int]) -> Resource:
    return Resource("Toy", name, name, KindSpec(), {}, SourceRef("specs/toy.yaml", 3), lines=lines)


def test_paths_round_trip_between_tuples_and_text() -> None:
    path = ("spec", "rules", 0, "data", 12, "model")
    assert dotted(path) == "spec.rules[0].data[12].model"
    assert parse_path(dotted(path)) == path


def test_an_error_is_resolved_to_the_deepest_line_its_document_has() -> None:
    res = resource("a", {("metadata", "name"): 3, ("spec",): 4, ("spec", "rules", 1): 9})
    (diag,) = resolve([res.error(("spec", "rules", 1, "title"), "title is empty")], [res])
    assert (diag.file, diag.line, diag.severity) == ("specs/toy.yaml", 9, Severity.ERROR)
    assert str(diag) == "specs/toy.yaml:9: spec.rules[1].title: title is empty"


def test_two_objects_at_one_address_are_told_apart_by_their_subject() -> None:
    first = resource("same", {("spec", "x"): 5})
    second = Resource("Toy", "same", "same", KindSpec(), {}, SourceRef("specs/other.yaml", 1), lines={("spec", "x"): 7})
    found = resolve([second.error(("spec", "x"), "clash")], [first, second])
    assert [d.location for d in found] == ["specs/other.yaml:7"]


def test_by_address_when_the_finder_has_no_object_at_hand() -> None:
    res = resource("a", {("spec", "x"): 6})
    (diag,) = resolve([Diagnostic.error("bad", ("spec", "x"), object="Toy/a")], [res])
    assert diag.location == "specs/toy.yaml:6"
    (kept,) = resolve([Diagnostic.error("no object")], [res])
    assert str(kept) == "no object"


def test_json_form_round_trips() -> None:
    diag = Diagnostic.warning("reset", ("spec", "interval"), object="Toy/a", detail="3 rules").at("f.yaml", 2)
    assert diag.to_dict() == {
        "severity": "warning",
        "summary": "reset",
        "detail": "3 rules",
        "object": "Toy/a",
        "path": "spec.interval",
        "source": "f.yaml:2",
    }
    assert Diagnostic.from_dict(diag.to_dict()) == diag
    assert str(diag) == "f.yaml:2: spec.interval: reset: 3 rules"
