"""The Grafana emulator's state and Grafana's own rules about it: tables, errors, decoding and
validation of rules, the store, the JSON shapes rules are answered in (no HTTP here)."""

from __future__ import annotations

import json
import random
import re
import string
from datetime import UTC, datetime
from typing import Any

from ..state import SandboxState

ORG_ID = 1
BASE_INTERVAL_SECONDS = 10
DEFAULT_INTERVAL_SECONDS = 60
MAX_UID_LENGTH = 40
MAX_TITLE_LENGTH = 190
EXPR_DATASOURCES = ("__expr__", "-100")
NO_DATA_STATES = ("Alerting", "NoData", "OK", "KeepLast")
EXEC_ERR_STATES = ("Alerting", "Error", "OK", "KeepLast")
RESERVED_LABELS = ("__alert_rule_uid__", "__alert_rule_namespace_uid__")
_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
_METRIC_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

DDL = """
CREATE TABLE IF NOT EXISTS grafana_folders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    parent_uid TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grafana_rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    folder_uid TEXT NOT NULL,
    rule_group TEXT NOT NULL,
    group_index INTEGER NOT NULL DEFAULT 0,
    interval_seconds INTEGER NOT NULL,
    provenance TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL DEFAULT 1,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grafana_dashboards (
    uid TEXT PRIMARY KEY,
    folder_uid TEXT NOT NULL,
    title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grafana_rule_state (
    uid TEXT PRIMARY KEY,
    instances TEXT NOT NULL
);
"""


class ApiError(Exception):
    """An error answered with Grafana's status code and body."""

    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _message(status: int, message: str) -> ApiError:
    return ApiError(status, {"message": message})


def _errutil(status: int, message_id: str, message: str) -> ApiError:
    return ApiError(status, {"statusCode": status, "messageId": message_id, "message": message})


def _provenance_mismatch(operation: str, provided: str, stored: str) -> ApiError:
    # errProvenanceMismatch (pkg/services/ngalert/provisioning): a typed 409 with this template.
    return _errutil(
        409,
        "alerting.provenanceMismatch",
        f"cannot {operation} with provided provenance '{provided}', needs '{stored}'",
    )


def _bad_request_data() -> ApiError:
    return _message(400, "bad request data")


def _invalid_rule(detail: str) -> ApiError:
    return _message(400, f"invalid alert rule: {detail}")


# --- Prometheus durations (github.com/prometheus/common/model.Duration), as Grafana uses them for
# `for` and export intervals. Kept here rather than shared with the kinds so a bug in one side's
# parsing cannot hide itself in tests.
_PROM_DURATION = re.compile(r"^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$")
_PROM_UNITS_MS = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1000),
    ("ms", 1),
)


def parse_prom_duration(text: str) -> int:
    """Milliseconds of a Prometheus duration string; ValueError like model.ParseDuration."""
    if text == "":
        raise ValueError("empty duration string")
    if text == "0":
        return 0
    match = _PROM_DURATION.match(text)
    if not match:
        raise ValueError(f'not a valid duration string: "{text}"')
    total = 0
    for index, (_, mult) in enumerate(_PROM_UNITS_MS):
        value = match.group(2 + 2 * index)
        if value:
            total += int(value) * mult
    return total


def format_prom_duration(ms: int) -> str:
    """model.Duration.String(): years and weeks only when exact."""
    if ms == 0:
        return "0s"
    out = ""
    for unit, mult in _PROM_UNITS_MS:
        if unit in ("y", "w") and ms % mult != 0:
            continue
        value = ms // mult
        if value > 0:
            out += f"{value}{unit}"
            ms -= value * mult
    return out


def go_duration(seconds: int) -> str:
    """time.Duration.String() for whole seconds (as in Grafana's interval error message)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def generate_short_uid() -> str:
    """Grafana 11's GenerateShortUID: a letter followed by 13 base-36 characters."""
    alphabet = string.ascii_lowercase + string.digits
    return random.choice(string.ascii_lowercase) + "".join(random.choice(alphabet) for _ in range(13))


def validate_uid(uid: str) -> str | None:
    """util.ValidateUID: the error text, or None."""
    if not uid:
        return "UID is empty"
    if len(uid) > MAX_UID_LENGTH:
        return f"UID is longer than {MAX_UID_LENGTH} symbols"
    if not _UID_RE.match(uid):
        return "invalid format of UID. Only letters, numbers, '-' and '_' are allowed"
    return None


def _go_number(value: Any) -> Any:
    """JSON numbers go through float64 in Go: integral floats come back as integers."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_number(v) for v in value]
    return value


# --- decoding request bodies the way Go's encoding/json would ------------------------------------
def _expect(value: Any, kind: type | tuple[type, ...]) -> Any:
    """`value` if it decodes into a Go field of type `kind` (null is the zero value)."""
    if value is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise _bad_request_data()
    return value


def _string_map(value: Any) -> dict[str, str]:
    value = _expect(value, dict) or {}
    if not all(isinstance(v, str) for v in value.values()):
        raise _bad_request_data()
    return dict(value)


def _seconds(value: Any) -> int:
    # models.Duration.UnmarshalJSON: a number of seconds, truncated like time.Duration(float).
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_request_data()
    return int(value)


def decode_rule(body: Any, extra_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """A ProvisionedAlertRule body as the server stores it (before validation)."""
    if not isinstance(body, dict):
        raise _bad_request_data()
    for_text = _expect(body.get("for"), str)
    try:
        for_ms = parse_prom_duration(for_text) if for_text is not None else 0
    except ValueError:
        raise _bad_request_data() from None
    data = []
    for item in _expect(body.get("data"), list) or []:
        if not isinstance(item, dict):
            raise _bad_request_data()
        rtr = _expect(item.get("relativeTimeRange"), dict) or {}
        data.append(
            {
                "refId": _expect(item.get("refId"), str) or "",
                "queryType": _expect(item.get("queryType"), str) or "",
                "relativeTimeRange": {"from": _seconds(rtr.get("from")), "to": _seconds(rtr.get("to"))},
                "datasourceUid": _expect(item.get("datasourceUid"), str) or "",
                "model": item.get("model"),
            }
        )
    settings = _expect(body.get("notification_settings"), dict)
    keep_text = _expect(body.get("keep_firing_for"), str)
    try:
        keep_ms = parse_prom_duration(keep_text) if keep_text else 0
    except ValueError:
        raise _bad_request_data() from None
    evals = _expect(body.get("missingSeriesEvalsToResolve"), (int, float))
    record = _expect(body.get("record"), dict)
    if record is not None:
        record = {
            "metric": _expect(record.get("metric"), str) or "",
            "from": _expect(record.get("from"), str) or "",
            **(
                {"target_datasource_uid": _expect(record.get("target_datasource_uid"), str)}
                if record.get("target_datasource_uid")
                else {}
            ),
        }
    return {
        "uid": _expect(body.get("uid"), str) or "",
        "folderUID": _expect(body.get("folderUID"), str) or "",
        "ruleGroup": _expect(body.get("ruleGroup"), str) or "",
        "title": _expect(body.get("title"), str) or "",
        "condition": _expect(body.get("condition"), str) or "",
        "data": data,
        "noDataState": _expect(body.get("noDataState"), str) or "",
        "execErrState": _expect(body.get("execErrState"), str) or "",
        "for_ms": for_ms,
        "annotations": _string_map(body.get("annotations")),
        "labels": _string_map(body.get("labels")),
        "isPaused": bool(_expect(body.get("isPaused"), bool)),
        "notification_settings": _with_extra(_decode_notification_settings(settings), settings, extra_fields),
        "record": record,
        "keep_firing_for_ms": keep_ms,
        "missingSeriesEvalsToResolve": int(evals) if evals is not None else None,
        # Fields of a newer Grafana this emulator is told to know (SandboxSettings.extra
        # ["grafana_rule_fields"]): stored and returned like its own.
        "extra": {k: body[k] for k in extra_fields if k in body and "." not in k},
    }


def _with_extra(
    decoded: dict[str, Any] | None, raw: dict[str, Any] | None, extra_fields: tuple[str, ...]
) -> dict[str, Any] | None:
    """Keys of a newer Grafana's notification settings the emulator is told to know
    (`notification_settings.KEY` in SandboxSettings.extra["grafana_rule_fields"])."""
    if decoded is None or raw is None:
        return decoded
    for name in extra_fields:
        prefix, _, key = name.partition(".")
        if prefix == "notification_settings" and key in raw:
            decoded[key] = raw[key]
    return decoded


def _decode_notification_settings(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    out: dict[str, Any] = {"receiver": _expect(value.get("receiver"), str) or ""}
    group_by = _expect(value.get("group_by"), list)
    if group_by:
        labels = [str(v) for v in group_by]
        if "..." not in labels:
            # Grafana 12 (NotificationSettings.Normalize) adds the labels every group needs.
            labels += [name for name in ("alertname", "grafana_folder") if name not in labels]
        out["group_by"] = labels
    for key in ("group_wait", "group_interval", "repeat_interval"):
        text = _expect(value.get(key), str)
        if text is not None:
            try:
                out[key] = format_prom_duration(parse_prom_duration(text))
            except ValueError:
                raise _bad_request_data() from None
    for key in ("mute_time_intervals", "active_time_intervals"):
        names = _expect(value.get(key), list)
        if names:
            out[key] = [str(v) for v in names]
    return out


def presave_queries(rule: dict[str, Any]) -> None:
    """AlertQuery.PreSave: queryType from the model, model defaults, relative time range check."""
    for query in rule["data"]:
        model = query["model"]
        if not isinstance(model, dict):
            raise _message(400, f"invalid alert query {query['refId']}: failed to unmarshal query model")
        model = _go_number(dict(model))
        if isinstance(model.get("queryType"), str):
            query["queryType"] = model["queryType"]
        for key, default in (("maxDataPoints", 43200), ("intervalMs", 1000)):
            value = model.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value == 0:
                model[key] = default
        query["model"] = model
        rtr = query["relativeTimeRange"]
        if query["datasourceUid"] not in EXPR_DATASOURCES and not rtr["from"] > rtr["to"]:
            raise _errutil(
                400,
                "alerting.alert-rule.invalidRelativeTime",
                f"Invalid alert rule query {query['refId']}: invalid relative time range "
                f"[From: {go_duration(rtr['from'])}, To: {go_duration(rtr['to'])}]",
            )


def validate_rule(rule: dict[str, Any], interval: int) -> None:
    """AlertRule.ValidateAlertRule plus the store's length limits (Grafana 11)."""
    problem = validate_uid(rule["uid"])
    if problem:
        raise _message(400, f"invalid alert rule\ncannot create rule with UID '{rule['uid']}': {problem}")
    if not rule["data"]:
        raise _invalid_rule("no queries or expressions are found")
    if not rule["title"]:
        raise _invalid_rule("title is empty")
    validate_interval(interval)
    record = rule.get("record")
    if record is not None:
        if not _METRIC_RE.match(record.get("metric") or ""):
            raise _invalid_rule("metric name for recording rule must be a valid Prometheus metric name")
        refs = [q["refId"] for q in rule["data"]]
        if record.get("from") not in refs:
            raise _invalid_rule(f"record.from: query '{record.get('from')}' is not one of the rule's queries")
        # ClearRecordingRuleIgnoredFields (Grafana 12): a recording rule keeps none of these.
        rule.update(
            noDataState="",
            execErrState="",
            condition="",
            for_ms=0,
            keep_firing_for_ms=0,
            notification_settings=None,
            missingSeriesEvalsToResolve=None,
        )
    else:
        if rule["execErrState"] not in EXEC_ERR_STATES:
            raise _invalid_rule(f"unknown Error state option {rule['execErrState']}")
        if rule["noDataState"] not in NO_DATA_STATES:
            raise _invalid_rule(f"unknown NoData state option {rule['noDataState']}")
    if rule["for_ms"] < 0:
        raise _invalid_rule("field `for` cannot be negative")
    evals = rule.get("missingSeriesEvalsToResolve")
    if evals is not None and evals < 1:
        raise _invalid_rule("field `missing_series_evals_to_resolve` must be greater than 0")
    annotations = rule["annotations"]
    if ("__dashboardUid__" in annotations) != ("__panelId__" in annotations):
        raise _invalid_rule("both annotations __dashboardUid__ and __panelId__ must be specified")
    if "__panelId__" in annotations:
        try:
            int(annotations["__panelId__"])
        except ValueError:
            raise _invalid_rule("annotation __panelId__ must be a valid number") from None
    for label in rule["labels"]:
        if label in RESERVED_LABELS:
            raise _invalid_rule(f"system reserved label {label} cannot be defined")
    settings = rule.get("notification_settings")
    if settings is not None:
        if not settings.get("receiver"):
            raise _message(400, "invalid alert rule\ninvalid notification settings: receiver name is not specified")
        group_by = settings.get("group_by")
        if group_by and not ({"alertname", "grafana_folder"} <= set(group_by) or "..." in group_by):
            raise _message(
                400,
                "invalid alert rule\ninvalid notification settings: group_by must contain 'alertname' and 'grafana_folder'",
            )
    if len(rule["title"]) > MAX_TITLE_LENGTH:
        raise _invalid_rule(f"name length should not be greater than {MAX_TITLE_LENGTH}")
    if len(rule["ruleGroup"]) > MAX_TITLE_LENGTH:
        raise _invalid_rule(f"rule group name length should not be greater than {MAX_TITLE_LENGTH}")


def validate_interval(seconds: int) -> None:
    if seconds <= 0 or seconds % BASE_INTERVAL_SECONDS != 0:
        raise _invalid_rule(
            f"interval ({go_duration(seconds)}) should be non-zero and divided exactly by scheduler interval: "
            f"{BASE_INTERVAL_SECONDS}"
        )


class GrafanaStore:
    """Folders, rules and rule state in the shared SQLite file."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # --- folders ----------------------------------------------------------------------------
    def folder(self, conn: Any, uid: str) -> dict[str, Any] | None:
        row = conn.execute("SELECT * FROM grafana_folders WHERE uid = ?", (uid,)).fetchone()
        return dict(row) if row else None

    def require_folder(self, conn: Any, uid: str) -> dict[str, Any]:
        folder = self.folder(conn, uid)
        if folder is None:
            raise ApiError(404, {"status": "not-found", "message": "folder not found"})
        return folder

    def folder_json(self, conn: Any, folder: dict[str, Any]) -> dict[str, Any]:
        slug = re.sub(r"[^a-z0-9]+", "-", folder["title"].lower()).strip("-")
        out: dict[str, Any] = {
            "id": folder["id"],
            "uid": folder["uid"],
            "orgId": ORG_ID,
            "title": folder["title"],
            "url": f"/dashboards/f/{folder['uid']}/{slug}",
            "hasAcl": False,
            "canSave": True,
            "canEdit": True,
            "canAdmin": True,
            "canDelete": True,
            "createdBy": "admin",
            "created": folder["created"],
            "updatedBy": "admin",
            "updated": folder["updated"],
            "version": folder["version"],
        }
        if folder["parent_uid"]:
            out["parentUid"] = folder["parent_uid"]
            parents: list[dict[str, Any]] = []
            parent = self.folder(conn, folder["parent_uid"])
            while parent is not None:
                parents.insert(0, {"id": parent["id"], "uid": parent["uid"], "orgId": ORG_ID, "title": parent["title"]})
                parent = self.folder(conn, parent["parent_uid"]) if parent["parent_uid"] else None
            out["parents"] = parents
        return out

    def folder_path(self, conn: Any, uid: str) -> str:
        """The folder's full path of titles (what exports call `folder`)."""
        titles: list[str] = []
        folder = self.folder(conn, uid)
        while folder is not None:
            titles.insert(0, folder["title"].replace("/", "\\/"))
            folder = self.folder(conn, folder["parent_uid"]) if folder["parent_uid"] else None
        return "/".join(titles)

    # --- rules -------------------------------------------------------------------------------
    def rules(self, conn: Any, where: str = "", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        sql = (
            "SELECT * FROM grafana_rules"
            + (f" WHERE {where}" if where else "")
            + " ORDER BY folder_uid, rule_group, group_index, id"
        )
        return [self._row(r) for r in conn.execute(sql, params).fetchall()]

    def rule(self, conn: Any, uid: str) -> dict[str, Any] | None:
        found = self.rules(conn, "uid = ?", (uid,))
        return found[0] if found else None

    @staticmethod
    def _row(row: Any) -> dict[str, Any]:
        rule: dict[str, Any] = json.loads(row["doc"])
        rule.update(
            id=row["id"],
            uid=row["uid"],
            folderUID=row["folder_uid"],
            ruleGroup=row["rule_group"],
            interval=row["interval_seconds"],
            provenance=row["provenance"],
            version=row["version"],
            group_index=row["group_index"],
        )
        return rule

    def insert(
        self, conn: Any, rule: dict[str, Any], interval: int, provenance: str, index: int, check_title: bool = True
    ) -> dict[str, Any]:
        if check_title:
            self._check_title_unique(conn, rule)
        if self.rule(conn, rule["uid"]) is not None:
            raise _errutil(
                409,
                "alerting.alert-rule.conflict",
                f"Failed to save alert rule '{rule['uid']}' in organization {ORG_ID} due to conflict: "
                "rule UID under the same organisation should be unique",
            )
        rule["updated"] = _now()
        conn.execute(
            "INSERT INTO grafana_rules (uid, folder_uid, rule_group, group_index, interval_seconds, provenance, version, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            (rule["uid"], *self._columns(rule, index, interval, provenance)),
        )
        return self.rule(conn, rule["uid"])  # type: ignore[return-value]

    def update(
        self,
        conn: Any,
        existing: dict[str, Any],
        rule: dict[str, Any],
        interval: int,
        provenance: str,
        index: int,
        check_title: bool = True,
    ) -> None:
        if check_title:
            self._check_title_unique(conn, rule)
        rule["updated"] = _now()
        conn.execute(
            "UPDATE grafana_rules SET folder_uid = ?, rule_group = ?, group_index = ?, interval_seconds = ?, provenance = ?, "
            "version = version + 1, doc = ? WHERE uid = ?",
            (*self._columns(rule, index, interval, provenance), existing["uid"]),
        )
        # Grafana restarts the rule's evaluation routine on a new version: its state starts over.
        conn.execute("DELETE FROM grafana_rule_state WHERE uid = ?", (existing["uid"],))

    def set_provenance(self, conn: Any, uid: str, provenance: str) -> None:
        conn.execute("UPDATE grafana_rules SET provenance = ? WHERE uid = ?", (provenance, uid))

    def delete(self, conn: Any, uid: str) -> None:
        conn.execute("DELETE FROM grafana_rules WHERE uid = ?", (uid,))
        conn.execute("DELETE FROM grafana_rule_state WHERE uid = ?", (uid,))

    def _check_title_unique(self, conn: Any, rule: dict[str, Any]) -> None:
        clash = [
            r
            for r in self.rules(conn, "folder_uid = ?", (rule["folderUID"],))
            if r["title"] == rule["title"] and r["uid"] != rule["uid"]
        ]
        if clash:
            raise _message(
                400,
                f"[alerting.alert-rule.conflict] Failed to save alert rule '{rule['uid']}' in organization {ORG_ID} due to "
                "conflict: a conflicting alert rule is found: rule title under the same organisation and folder should be unique",
            )

    @staticmethod
    def _columns(rule: dict[str, Any], index: int, interval: int, provenance: str) -> tuple[Any, ...]:
        """What a write stores after the uid: folder_uid, rule_group, group_index,
        interval_seconds, provenance, doc (the definition and its `updated` time)."""
        doc = {k: rule.get(k) for k in (*_DEFINITION, "updated")}
        return (rule["folderUID"], rule["ruleGroup"], index, interval, provenance, json.dumps(doc))

    def instances(self, conn: Any, uid: str) -> list[dict[str, Any]]:
        row = conn.execute("SELECT instances FROM grafana_rule_state WHERE uid = ?", (uid,)).fetchone()
        return json.loads(row["instances"]) if row else []


def rule_json(rule: dict[str, Any], *, with_provenance: bool = True) -> dict[str, Any]:
    """ProvisionedAlertRule as Grafana 11 serialises it."""
    out: dict[str, Any] = {
        "id": rule.get("id", 0),
        "uid": rule["uid"],
        "orgID": ORG_ID,
        "folderUID": rule["folderUID"],
        "ruleGroup": rule["ruleGroup"],
        "title": rule["title"],
        "condition": rule["condition"],
        "data": [dict(q) for q in rule["data"]],
        "updated": rule.get("updated") or "0001-01-01T00:00:00Z",
        "noDataState": rule["noDataState"],
        "execErrState": rule["execErrState"],
        "for": format_prom_duration(rule["for_ms"]),
        "keep_firing_for": format_prom_duration(rule.get("keep_firing_for_ms") or 0),
    }
    if rule.get("annotations"):
        out["annotations"] = dict(rule["annotations"])
    if rule.get("labels"):
        out["labels"] = dict(rule["labels"])
    if with_provenance and rule.get("provenance"):
        out["provenance"] = rule["provenance"]
    out["isPaused"] = bool(rule.get("isPaused"))
    out["notification_settings"] = rule.get("notification_settings")
    out["record"] = rule.get("record")
    if rule.get("missingSeriesEvalsToResolve") is not None:
        out["missingSeriesEvalsToResolve"] = rule["missingSeriesEvalsToResolve"]
    out.update(rule.get("extra") or {})
    return out


def export_rule(rule: dict[str, Any], fmt: str) -> dict[str, Any]:
    """AlertRuleExport (file-provisioning shape, Grafana 12 definitions): condition, states and
    durations omitted when empty, the dashboard link as dashboardUid/panelId (from the link
    annotations), missing_series_evals_to_resolve and record.targetDatasourceUid as spelled there."""
    data = []
    for q in rule["data"]:
        item: dict[str, Any] = {"refId": q["refId"]}
        if q["queryType"]:
            item["queryType"] = q["queryType"]
        rtr = q["relativeTimeRange"]
        if fmt == "json" or rtr["from"] or rtr["to"]:
            item["relativeTimeRange"] = {"from": rtr["from"], "to": rtr["to"]}
        item["datasourceUid"] = q["datasourceUid"]
        item["model"] = q["model"]
        data.append(item)
    out: dict[str, Any] = {"uid": rule["uid"], "title": rule["title"]}
    if rule["condition"]:
        out["condition"] = rule["condition"]
    out["data"] = data
    annotations = dict(rule.get("annotations") or {})
    if annotations.get("__dashboardUid__"):
        out["dashboardUid"] = annotations["__dashboardUid__"]
        try:
            out["panelId"] = int(annotations.get("__panelId__") or 0)
        except ValueError:
            pass
    if rule["noDataState"]:
        out["noDataState"] = rule["noDataState"]
    if rule["execErrState"]:
        out["execErrState"] = rule["execErrState"]
    if rule["for_ms"]:
        out["for"] = format_prom_duration(rule["for_ms"])
    if rule.get("keep_firing_for_ms"):
        out["keepFiringFor"] = format_prom_duration(rule["keep_firing_for_ms"])
    if rule.get("annotations"):
        out["annotations"] = rule["annotations"]
    if rule.get("labels"):
        out["labels"] = rule["labels"]
    out["isPaused"] = bool(rule.get("isPaused"))
    if rule.get("notification_settings"):
        out["notification_settings"] = rule["notification_settings"]
    record = rule.get("record")
    if record:
        out["record"] = {"metric": record["metric"], "from": record["from"]}
        if record.get("target_datasource_uid"):
            out["record"]["targetDatasourceUid"] = record["target_datasource_uid"]
    if rule.get("missingSeriesEvalsToResolve") is not None:
        out["missing_series_evals_to_resolve"] = rule["missingSeriesEvalsToResolve"]
    return out


# A rule's definition as stored (the `doc` column, besides its `updated` time).
_DEFINITION = (
    "title",
    "condition",
    "data",
    "noDataState",
    "execErrState",
    "for_ms",
    "annotations",
    "labels",
    "isPaused",
    "notification_settings",
    "record",
    "keep_firing_for_ms",
    "missingSeriesEvalsToResolve",
    "extra",
)


def _stored_fields(rule: dict[str, Any]) -> dict[str, Any]:
    """The fields AlertRule.Diff compares: ids, versions, timestamps and interval are not."""
    return {k: rule.get(k) for k in ("uid", "folderUID", "ruleGroup", *_DEFINITION)}


def _ensure_namespace(conn: Any, store: GrafanaStore, folder_uid: str) -> None:
    if not folder_uid:
        raise _invalid_rule("folderUID must be set")
    if store.folder(conn, folder_uid) is None:
        raise _invalid_rule("folder does not exist")


def _check_folder_uid(uid: str) -> None:
    if len(uid) > MAX_UID_LENGTH:
        raise _message(400, "uid too long, max 40 characters")
    if not _UID_RE.match(uid):
        raise _message(400, "uid contains illegal characters")


def _subtree(conn: Any, uid: str) -> list[str]:
    out = [uid]
    for row in conn.execute("SELECT uid FROM grafana_folders WHERE parent_uid = ?", (uid,)).fetchall():
        out += _subtree(conn, row["uid"])
    return out


def _replace_group(
    conn: Any,
    store: GrafanaStore,
    folder_uid: str,
    group: str,
    interval: int,
    submitted: list[dict[str, Any]] | None,
    provenance: str,
) -> None:
    """AlertRuleService.ReplaceRuleGroup: compute the delta against the stored group, then apply
    deletes, updates and inserts, checking provenance like CanUpdateProvenanceInRuleGroup."""
    existing = store.rules(conn, "folder_uid = ? AND rule_group = ?", (folder_uid, group))
    if submitted is None:  # interval-only request (backwards compatible form)
        submitted = [json.loads(json.dumps(_stored_fields(r))) for r in existing]
    if submitted:
        _ensure_namespace(conn, store, folder_uid)
    by_uid = {r["uid"]: r for r in existing}
    updates: list[tuple[dict[str, Any], dict[str, Any], int]] = []
    inserts: list[tuple[dict[str, Any], int]] = []
    for index, rule in enumerate(submitted, start=1):
        rule.update(folderUID=folder_uid, ruleGroup=group)
        current = None
        if rule["uid"]:
            current = by_uid.pop(rule["uid"], None) or store.rule(conn, rule["uid"])
        else:
            rule["uid"] = generate_short_uid()
        if current is not None:
            _patch_partial(current, rule)
        presave_queries(rule)
        validate_rule(rule, interval)
        if current is None:
            inserts.append((rule, index))
        elif _stored_fields(current) != _stored_fields(rule) or current["interval"] != interval:
            updates.append((current, rule, index))
    deletes = list(by_uid.values())

    def can_update(stored: str) -> bool:
        return stored == provenance or stored == "" or (stored == "api" and provenance == "")

    for rule in deletes:
        if not can_update(rule["provenance"]):
            raise _provenance_mismatch("delete", provenance, rule["provenance"])
    for current, _, _ in updates:
        if not can_update(current["provenance"]):
            raise _provenance_mismatch("update", provenance, current["provenance"])
    for rule in deletes:
        store.delete(conn, rule["uid"])
    # Titles are checked on the group as written, not rule by rule (Grafana's store renames
    # through temporary titles, preventIntermediateUniqueConstraintViolations): two rules may
    # swap titles in one write.
    for current, rule, index in updates:
        store.update(conn, current, rule, interval, provenance, index, check_title=False)
    for rule, index in inserts:
        store.insert(conn, rule, interval, provenance, index, check_title=False)
    for rule in [r for _, r, _ in updates] + [r for r, _ in inserts]:
        store._check_title_unique(conn, rule)


def _patch_partial(existing: dict[str, Any], rule: dict[str, Any]) -> None:
    """PatchPartialAlertRule: empty fields of a submitted rule take the stored values."""
    if not rule["title"]:
        rule["title"] = existing["title"]
    # hasAnyCondition (Grafana 12): a recording rule's record.from counts as its condition.
    has_condition = bool(rule["condition"] or (rule.get("record") or {}).get("from"))
    if not has_condition or not rule["data"]:
        rule["condition"], rule["data"] = existing["condition"], json.loads(json.dumps(existing["data"]))
    for key in ("noDataState", "execErrState"):
        if not rule[key]:
            rule[key] = existing[key]


def _rule_state(rule: dict[str, Any], instances: list[dict[str, Any]], totals: dict[str, int]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    alerts = []
    for item in instances:
        key = str(item["state"]).lower()
        counts[key] = counts.get(key, 0) + 1
        alerts.append(
            {
                "labels": item["labels"],
                "annotations": rule.get("annotations") or {},
                "state": item["state"],
                "activeAt": item["activeAt"],
                "value": item["value"],
            }
        )
    state = "firing" if counts.get("alerting") else "pending" if counts.get("pending") else "inactive"
    if not counts:
        counts["inactive"] = 1
    for key, count in counts.items():
        totals[key] = totals.get(key, 0) + count
    return {
        "state": state,
        "name": rule["title"],
        "query": json.dumps([q["model"] for q in rule["data"]], sort_keys=True),
        "duration": rule["for_ms"] // 1000,
        "annotations": rule.get("annotations") or {},
        "alerts": alerts,
        "totals": counts,
        "totalsFiltered": counts,
        "uid": rule["uid"],
        "folderUid": rule["folderUID"],
        "labels": rule.get("labels") or {},
        "health": "ok",
        "type": "alerting",
        "lastEvaluation": "0001-01-01T00:00:00Z",
        "evaluationTime": 0,
        "isPaused": bool(rule.get("isPaused")),
    }
