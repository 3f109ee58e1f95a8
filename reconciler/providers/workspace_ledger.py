"""The ownership ledger: which Databricks objects reconciler manages on a target, kept live.

Why a workspace file: CI runs start from a clean checkout, so ownership must live on the live
side, and objects such as lakehouse monitors have no tag to carry a marker. Databricks Asset
Bundles keep their deployment state the same way (a file in the workspace). One JSON file per
target, read and written through `w.workspace` (databricks-sdk):

    {"format_version": 1, "managed_by": "reconciler/<project>", "target": "<target>",
     "objects": {"QualityMonitor": {"main.sales.orders": {
         "spec_name": "orders", "prevent_destroy": false, "applied_at": "2025-...",
         "write_only": {"warehouse_id": "...", "skip_builtin_dashboard": false}}}}}

`write_only` keeps the create-only values the service never returns, so they can be diffed; an
adopted object has none until reconciler recreates it. Every change re-reads the file first, so
two kinds (or two objects) written in one run never overwrite each other's entries; concurrent
runs against one target are not coordinated (run one apply per target at a time, as CI does).
"""

from __future__ import annotations

import io
import json
import posixpath
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from databricks.sdk.errors import NotFound
from databricks.sdk.service.workspace import ImportFormat

from reconciler.errors import ReconcilerError

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient

    from reconciler.targets import TargetContext

FORMAT_VERSION = 1


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def ledger_path(context: TargetContext, project: str) -> str:
    """The target's ledger file: one per target, shared by every Databricks kind that keeps
    ownership in it (QualityMonitor, AnomalyDetection), each under its own kind key."""
    settings = context.config.quality_monitors
    if settings is not None and settings.ledger_path:
        return settings.ledger_path
    return f"/Shared/.reconciler/{project}/{context.name}/ledger.json"


def target_ledger(context: TargetContext, project: str) -> WorkspaceLedger:
    return WorkspaceLedger(context.workspace_client(), ledger_path(context, project), context.owner, context.name)


class WorkspaceLedger:
    def __init__(self, client: WorkspaceClient, path: str, owner: str, target: str) -> None:
        self.client = client
        self.path = path
        self.owner = owner
        self.target = target

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.client.workspace.download(self.path).read()
        except NotFound:
            return {"format_version": FORMAT_VERSION, "managed_by": self.owner, "target": self.target, "objects": {}}
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReconcilerError(
                f"the ownership ledger {self.path} is not valid JSON ({exc}); fix or remove it"
            ) from exc
        if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
            raise ReconcilerError(f"the ownership ledger {self.path} has an unknown format; fix or remove it")
        if doc.get("managed_by") != self.owner:
            raise ReconcilerError(
                f"the ownership ledger {self.path} belongs to {doc.get('managed_by')!r}, not {self.owner!r}: "
                "give this project its own ledger_path"
            )
        doc.setdefault("objects", {})
        return doc

    def entries(self, kind: str) -> dict[str, dict[str, Any]]:
        return dict(self._read()["objects"].get(kind, {}))

    def put(self, kind: str, key: str, entry: dict[str, Any]) -> None:
        doc = self._read()
        doc["objects"].setdefault(kind, {})[key] = {**entry, "applied_at": now_iso()}
        self._write(doc)

    def remove(self, kind: str, *keys: str) -> None:
        doc = self._read()
        objects = doc["objects"].get(kind, {})
        if not any(k in objects for k in keys):
            return
        for key in keys:
            objects.pop(key, None)
        self._write(doc)

    def _write(self, doc: dict[str, Any]) -> None:
        data = (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
        self.client.workspace.mkdirs(posixpath.dirname(self.path))
        self.client.workspace.upload(self.path, io.BytesIO(data), format=ImportFormat.AUTO, overwrite=True)
