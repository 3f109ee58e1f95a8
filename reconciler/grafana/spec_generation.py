"""Spec files for `reconciler import --generate-specs`: from live Grafana, or from Grafana's
export / file-provisioning YAML."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from reconciler.errors import ReconcilerError
from reconciler.providers.base import GeneratedSpecs
from reconciler.specs.yaml_loader import load_documents

from .provisioning_file import expand_env, folder_uid_for_title
from .rule_form import file_rule_to_api, spec_rule_from_api
from .spec_model import format_duration, parse_duration

if TYPE_CHECKING:
    from reconciler.providers.request import ProviderRequest

    from .snapshot import GrafanaBackend


_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str) -> str:
    """A metadata.name from a Grafana name ("SLA checks" -> "SLA-checks")."""
    out = _SLUG.sub("-", text).strip("-._")
    return out or "group"


class SpecGenerator:
    """Spec files from live Grafana or from Grafana's export / file-provisioning YAML."""

    def __init__(self, grafana: GrafanaBackend, expand_env: tuple[str, ...] = ()) -> None:
        self.grafana = grafana
        # Environment variables a provisioning file may expand (`import --expand-env`; `*`: all).
        self.expand_env = expand_env

    def generate(self, request: ProviderRequest, selector: str, source: Path | None) -> GeneratedSpecs:
        """Specs for the groups matching `selector`, skipping what `request` already declares
        (handed per call, as to providers: the generator keeps no specs of a run)."""
        groups = self._from_file(source) if source is not None else self._from_live()
        chosen = [g for g in groups if fnmatch.fnmatchcase(f"{g['folderUid']}/{g['name']}", selector)]
        if not chosen:
            where = str(source) if source is not None else "Grafana"
            raise ReconcilerError(f"no rule group in {where} matches {selector!r} (groups are named FOLDER_UID/GROUP)")
        declared_groups = {r.key for r in request.of("GrafanaRuleGroup")}
        declared_names = {r.name for r in request.of("GrafanaRuleGroup")}
        declared_folders = {r.key for r in request.of("GrafanaFolder")}
        result = GeneratedSpecs()
        by_folder: dict[str, list[dict[str, Any]]] = {}
        file_provisioned = {
            (r.get("folderUID"), r.get("ruleGroup"))
            for r in self.grafana.client.list_rules()
            if r.get("provenance") == "file"
        }
        for group in chosen:
            key = f"{group['folderUid']}/{group['name']}"
            if key in declared_groups:
                result.notes.append(f"GrafanaRuleGroup {key} is already declared in the specs; skipped")
                continue
            foreign = sorted(
                {
                    str(self.grafana.other_owner(r))
                    for r in group["rules"]
                    if group.get("live") and self.grafana.other_owner(r)
                }
            )
            if foreign:
                result.notes.append(f"GrafanaRuleGroup {key} holds rules managed by {', '.join(foreign)}; skipped")
                continue
            if group.get("live") and (group["folderUid"], group["name"]) in file_provisioned:
                result.notes.append(
                    f"GrafanaRuleGroup {key} holds rules provisioned from files (provenance 'file'): Grafana refuses API writes "
                    "to them, so reconciler cannot manage the group; skipped"
                )
                continue
            by_folder.setdefault(group["folderUid"], []).append(group)
        for folder_uid, groups_in_folder in sorted(by_folder.items()):
            docs = []
            if folder_uid not in declared_folders:
                folder = self._folder(folder_uid, groups_in_folder[0].get("folderTitle"))
                docs.append(
                    {
                        "apiVersion": "reconciler/v1",
                        "kind": "GrafanaFolder",
                        "metadata": {"name": folder_uid},
                        "spec": {
                            "title": folder["title"],
                            **({"parent": folder["parentUid"]} if folder.get("parentUid") else {}),
                        },
                    }
                )
            for group in groups_in_folder:
                name = slug(group["name"])
                while name in declared_names:
                    name += "-imported"
                declared_names.add(name)
                spec: dict[str, Any] = {"folder": folder_uid}
                if name != group["name"]:
                    spec["group"] = group["name"]
                spec["interval"] = format_duration(group["interval"])
                spec["rules"] = [spec_rule_from_api(r) for r in group["rules"]]
                docs.append(
                    {
                        "apiVersion": "reconciler/v1",
                        "kind": "GrafanaRuleGroup",
                        "metadata": {"name": name},
                        "spec": spec,
                    }
                )
                if group.get("live"):
                    result.adopt.append((f"{folder_uid}/{group['name']}", name))
            header = (
                "# Generated by `reconciler import --generate-specs` from "
                + ("Grafana export" if groups_in_folder[0].get("from_file") else "live Grafana")
                + ". Edit freely: this file is now the source of truth.\n"
            )
            body = "---\n".join(
                yaml.safe_dump(d, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)
                for d in docs
            )
            result.files[f"grafana/{folder_uid}.yaml"] = header + body
        return result

    def _from_live(self) -> list[dict[str, Any]]:
        client = self.grafana.client
        rules = client.list_rules()
        keys = sorted({(r["folderUID"], r["ruleGroup"]) for r in rules})
        groups = []
        for folder_uid, name in keys:
            answer = client.get_group(folder_uid, name)
            if answer is None:
                continue
            members = [r for r in rules if r["folderUID"] == folder_uid and r["ruleGroup"] == name]
            groups.append(
                {
                    "folderUid": folder_uid,
                    "name": name,
                    "interval": int(answer["interval"]),
                    "rules": members,
                    "live": True,
                }
            )
        return groups

    def _from_file(self, path: Path) -> list[dict[str, Any]]:
        """The groups of a provisioning file or export, read as Grafana's file provisioning reads
        them (`provisioning_file`): environment expansion where Grafana applies it, Grafana's
        defaults for omitted fields, folders by title path. Every problem is one file:line error."""
        display = str(path)
        docs, problems = load_documents(path, display)
        if problems:
            raise ReconcilerError("\n".join(str(p) for p in problems))
        if len(docs) != 1:
            raise ReconcilerError(f"{path}: a Grafana provisioning file is one document, not {len(docs)}")
        doc, lines = docs[0].data, docs[0].lines
        if not isinstance(doc, dict) or doc.get("apiVersion") != 1 or not isinstance(doc.get("groups"), list):
            raise ReconcilerError(f"{path}: not a Grafana alerting export (expected `apiVersion: 1` and `groups:`)")
        doc, errors = expand_env(doc, lines, display, self.expand_env)
        if errors:
            raise ReconcilerError(f"{len(errors)} problem(s) in {path}:\n" + "\n".join(f"  {e}" for e in errors))
        out = []
        for index, group in enumerate(doc["groups"]):
            where = f"{path}:{docs[0].line_for(('groups', index))}"
            if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list):
                raise ReconcilerError(f"{where}: groups[{index}] needs a name and rules")
            folder_uid = group.get("folderUid") or self._folder_uid_for(str(group.get("folder") or ""))
            try:
                interval = parse_duration(group.get("interval", "1m"))
            except ValueError as exc:
                raise ReconcilerError(f"{where}: groups[{index}].interval: {exc}") from None
            live = self.grafana.client.get_group(folder_uid, group["name"]) is not None
            out.append(
                {
                    "folderUid": folder_uid,
                    "folderTitle": group.get("folder"),
                    "name": group["name"],
                    "interval": interval,
                    "rules": [file_rule_to_api(r) for r in group["rules"] if isinstance(r, dict)],
                    "live": live,
                    "from_file": True,
                }
            )
        return out

    def _folder_uid_for(self, path: str) -> str:
        """The uid of the folder an export names by its title path ("Parent/Child"): the live
        folder's, or one derived from the path (valid, stable, and distinct per path)."""
        parts = [p.replace("\\/", "/") for p in re.split(r"(?<!\\)/", path) if p]
        parent = None
        uid = None
        for title in parts:
            match = next((f for f in self.grafana.client.list_folders(parent) if f.get("title") == title), None)
            if match is None:
                return folder_uid_for_title(path or "alerts")
            uid = parent = match["uid"]
        return uid or folder_uid_for_title(path or "alerts")

    def _folder(self, uid: str, title: str | None) -> dict[str, Any]:
        live = self.grafana.client.get_folder(uid)
        if live is not None:
            return live
        leaf = re.split(r"(?<!\\)/", title or uid)[-1].replace("\\/", "/")
        return {"uid": uid, "title": leaf}
