"""Emulator of Grafana's notification provisioning API: contact points, the notification policy
tree, mute timings and message templates (one Flask Blueprint).

Follows **Grafana 11.x / 12.x** `/api/v1/provisioning` (grafana/grafana
`pkg/services/ngalert/api/api_provisioning.go`, `pkg/services/ngalert/provisioning/
contactpoints.go`, `notification_policies.go`, `mute_timings.go`, `templates.go`, and the
Alertmanager `timeinterval` package). Paths, status codes and bodies:

- `GET /contact-points` 200 (list; `?name=` filters), `POST` **202** with the contact point,
  `PUT /contact-points/{uid}` **202** `{"message": "contactpoint updated"}`, `DELETE` **202**
  `{"message": "contactpoint deleted"}`. Secure settings (per integration type, as in Grafana's
  channel definitions) are stored apart and returned as `"[REDACTED]"`; on PUT a secure setting
  that is omitted or sent as `"[REDACTED]"` keeps its stored value. A contact point the policy
  tree or a rule's notification settings still route to cannot lose its last integration (409).
- `GET /policies` 200 (the tree, with `provenance` when set), `PUT` **202** `{"message":
  "policies updated"}` (every receiver and time interval it names must exist; the root needs a
  receiver and no matchers), `DELETE` **202** `{"message": "policies resetted"}` (Grafana's
  wording): the default tree `{receiver: grafana-default-email, group_by: [grafana_folder,
  alertname]}`.
- `GET /mute-timings` 200, `GET /mute-timings/{name}` 200/404, `POST` **201**, `PUT
  /mute-timings/{name}` 200 (`version` checked: 409 on a stale one), `DELETE` **204** (409 while
  the policy tree uses it). Stored as Alertmanager marshals them: weekdays and months by name,
  a range whose ends are equal as one value, empty lists omitted; `version` is a content hash.
- `GET /templates` 200, `GET /templates/{name}` 200/404, `PUT /templates/{name}` **202** with
  the template (creates or updates; `version` checked), `DELETE` **204**. Template text is
  checked for balanced actions and blocks (Grafana parses it as a Go template: 400).

Provenance as for rules: a write without `X-Disable-Provenance` records `api`, with it none; a
change to an object whose provenance is neither none nor the caller's is refused (409
`alerting.provenanceMismatch`). A fresh organisation holds the `grafana-default-email` contact
point and the default tree. Not emulated (to verify against a real Grafana before relying on the
exact texts): the validation messages' wording beyond their status codes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, request

from .settings import SandboxSettings
from .state import SandboxState

PREFIX = "/api/v1/provisioning"
REDACTED = "[REDACTED]"
DEFAULT_RECEIVER = "grafana-default-email"
DEFAULT_TREE: dict[str, Any] = {"receiver": DEFAULT_RECEIVER, "group_by": ["grafana_folder", "alertname"]}
# Grafana's channel definitions: which settings of each type are `Secure`, which are required.
SECURE: dict[str, tuple[str, ...]] = {
    "alertmanager": ("basicAuthPassword",),
    "dingding": ("url",),
    "discord": ("url",),
    "email": (),
    "googlechat": ("url",),
    "kafka": ("password",),
    "line": ("token",),
    "mqtt": ("password",),
    "oncall": ("password", "authorization_credentials"),
    "opsgenie": ("apiKey",),
    "pagerduty": ("integrationKey",),
    "pushover": ("userKey", "apiToken"),
    "sensugo": ("apiKey",),
    "slack": ("url", "token"),
    "teams": (),
    "telegram": ("bottoken",),
    "threema": ("api_secret",),
    "victorops": ("url",),
    "webex": ("bot_token",),
    "webhook": ("password", "authorization_credentials"),
    "wecom": ("url", "secret"),
}
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "email": (("addresses",),),
    "webhook": (("url",),),
    "slack": (("url", "token"),),
    "pagerduty": (("integrationKey",),),
    "opsgenie": (("apiKey",),),
    "teams": (("url",),),
    "discord": (("url",),),
    "googlechat": (("url",),),
    "telegram": (("bottoken",), ("chatid",)),
}
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_UID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,40}$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_OPS = ("=", "!=", "=~", "!~")

DDL = """
CREATE TABLE IF NOT EXISTS grafana_contact_points (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    settings TEXT NOT NULL,
    secure TEXT NOT NULL,
    disable_resolve INTEGER NOT NULL DEFAULT 0,
    provenance TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grafana_policy_tree (
    org_id INTEGER PRIMARY KEY,
    doc TEXT NOT NULL,
    provenance TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grafana_mute_timings (
    name TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    provenance TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grafana_templates (
    name TEXT PRIMARY KEY,
    template TEXT NOT NULL,
    provenance TEXT NOT NULL DEFAULT ''
);
"""


class ApiError(Exception):
    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


def _bad(message: str) -> ApiError:
    return ApiError(400, {"message": message})


def _errutil(status: int, message_id: str, message: str) -> ApiError:
    return ApiError(status, {"statusCode": status, "messageId": message_id, "message": message})


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")


def _version(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _check_provenance(stored: str, provided: str, operation: str) -> None:
    if stored not in ("", provided):
        raise _errutil(
            409,
            "alerting.provenanceMismatch",
            f"cannot {operation} with provided provenance '{provided}', needs '{stored}'",
        )


def _check_version(given: Any, current: str, what: str) -> None:
    """A `version` sent with a write must be the stored one (optimistic locking); none skips it."""
    if given and given != current:
        raise _errutil(409, "alerting.notifications.conflict", f"version conflict: the {what} changed")


@dataclass(frozen=True)
class _ByName:
    """A table of objects addressed by name (mute timings, templates): the one way its handlers
    read a row, list the rows, answer 404 and check a write's provenance."""

    table: str
    to_json: Callable[[Any], dict[str, Any]]
    not_found: tuple[str, str]  # Grafana's messageId and message

    def row(self, conn: Any, name: str) -> Any:
        return conn.execute(f"SELECT * FROM {self.table} WHERE name = ?", (name,)).fetchone()

    def listing(self, state: SandboxState) -> list[dict[str, Any]]:
        with state.connect() as conn:
            rows = conn.execute(f"SELECT * FROM {self.table} ORDER BY name").fetchall()
        return [self.to_json(r) for r in rows]

    def found(self, conn: Any, name: str) -> Any:
        """The row, or Grafana's 404."""
        row = self.row(conn, name)
        if row is None:
            raise _errutil(404, *self.not_found)
        return row

    def writable(self, conn: Any, name: str, provided: str, operation: str) -> Any:
        """The row (None when there is none), refused when its provenance is another's."""
        row = self.row(conn, name)
        if row is not None:
            _check_provenance(row["provenance"], provided, operation)
        return row


# --- contact points --------------------------------------------------------------------------------
def _validate_integration(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("bad request data")
    name, kind = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name.strip():
        raise _bad("invalid object specification: name is missing")
    if kind not in SECURE:
        raise _bad(f'invalid object specification: notifier type "{kind}" is not supported')
    settings = body.get("settings")
    if settings is None or not isinstance(settings, dict):
        raise _bad("invalid object specification: settings should not be empty")
    uid = body.get("uid") or ""
    if uid and not _UID_RE.match(str(uid)):
        raise _bad(
            "invalid object specification: UID can have a maximum length of 40 and only letters, digits, - and _"
        )
    return {
        "uid": str(uid),
        "name": name,
        "type": kind,
        "settings": dict(settings),
        "disable_resolve": bool(body.get("disableResolveMessage")),
    }


def _check_required(integ: dict[str, Any], secure: dict[str, str]) -> None:
    present = {k for k, v in {**integ["settings"], **secure}.items() if v not in (None, "")}
    for options in REQUIRED.get(integ["type"], ()):
        if not present & set(options):
            raise _bad(
                f'failed to validate integration "{integ["name"]}" (UID {integ["uid"]}) of type "{integ["type"]}": '
                f"could not find {' or '.join(options)} property in settings"
            )


def _split_secure(kind: str, settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    plain = dict(settings)
    secure = {k: str(plain.pop(k)) for k in SECURE[kind] if k in plain and plain[k] not in (None,)}
    return plain, secure


def _contact_point_values(
    integ: dict[str, Any], plain: dict[str, Any], secure: dict[str, str], provenance: str
) -> tuple[Any, ...]:
    """The stored columns of an integration after its uid: name, type, settings, secure,
    disable_resolve, provenance."""
    return (
        integ["name"],
        integ["type"],
        json.dumps(plain),
        json.dumps(secure),
        int(integ["disable_resolve"]),
        provenance,
    )


def _contact_point_json(row: Any) -> dict[str, Any]:
    settings = json.loads(row["settings"])
    for key, value in json.loads(row["secure"]).items():
        if value:
            settings[key] = REDACTED
    out: dict[str, Any] = {
        "uid": row["uid"],
        "name": row["name"],
        "type": row["type"],
        "settings": settings,
        "disableResolveMessage": bool(row["disable_resolve"]),
    }
    if row["provenance"]:
        out["provenance"] = row["provenance"]
    return out


# --- policy tree -----------------------------------------------------------------------------------
def _duration(value: Any, where: str) -> str | None:
    """model.Duration: parsed on the way in, returned in its own String() form (60s -> 1m)."""
    from .grafana_alerting.store import format_prom_duration, parse_prom_duration

    if value in (None, ""):
        return None
    try:
        return format_prom_duration(parse_prom_duration(str(value)))
    except ValueError as exc:
        raise _bad(f"invalid object specification: {where}: {exc}") from None


def _decode_route(body: Any, root: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("bad request data")
    out: dict[str, Any] = {}
    if body.get("receiver"):
        out["receiver"] = str(body["receiver"])
    elif root:
        raise _bad("invalid object specification: root route must specify a default receiver")
    if body.get("group_by") is not None:
        out["group_by"] = [str(v) for v in body["group_by"]]
    matchers = body.get("object_matchers") or []
    if matchers and root:
        raise _bad("invalid object specification: root route must not have any matchers")
    for m in matchers:
        if not (isinstance(m, list) and len(m) == 3 and m[1] in _OPS):
            raise _bad(f"invalid object specification: bad matcher {m!r}")
    if matchers:
        out["object_matchers"] = [[str(a), str(b), str(c)] for a, b, c in matchers]
    if body.get("continue"):
        out["continue"] = True
    for key in ("group_wait", "group_interval", "repeat_interval"):
        value = _duration(body.get(key), key)
        if value:
            out[key] = value
    for key in ("mute_time_intervals", "active_time_intervals"):
        if body.get(key):
            out[key] = [str(v) for v in body[key]]
    if body.get("routes"):
        out["routes"] = [_decode_route(r, root=False) for r in body["routes"]]
    return out


def _references(route: dict[str, Any], receivers: set[str], intervals: set[str]) -> None:
    if route.get("receiver"):
        receivers.add(route["receiver"])
    intervals.update(route.get("mute_time_intervals") or [])
    intervals.update(route.get("active_time_intervals") or [])
    for child in route.get("routes") or []:
        _references(child, receivers, intervals)


# --- mute timings ----------------------------------------------------------------------------------
def _range(text: Any, what: str) -> str:
    parts = [p.strip().lower() for p in str(text).split(":")]
    if len(parts) > 2 or not all(parts):
        raise _bad(f"invalid object specification: {text!r} is not a valid {what} range")
    out = []
    for part in parts:
        if what == "weekday":
            if part not in WEEKDAYS:
                raise _bad(f"invalid object specification: {part!r} is not a valid weekday")
        elif what == "month":
            if part.isdigit() and 1 <= int(part) <= 12:
                part = MONTHS[int(part) - 1]
            elif part not in MONTHS:
                raise _bad(f"invalid object specification: {part!r} is not a valid month")
        else:
            try:
                part = str(int(part))
            except ValueError:
                raise _bad(f"invalid object specification: {part!r} is not a valid {what}") from None
        out.append(part)
    return out[0] if len(out) == 2 and out[0] == out[1] else ":".join(out)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _decode_interval(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("bad request data")
    out: dict[str, Any] = {}
    times = []
    for t in body.get("times") or []:
        start, end = (t or {}).get("start_time", ""), (t or {}).get("end_time", "")
        if not (_TIME_RE.match(str(start)) and _TIME_RE.match(str(end))):
            raise _bad(f"invalid object specification: bad time range {start!r}-{end!r}")
        if _minutes(str(start)) >= _minutes(str(end)):
            raise _bad("invalid object specification: start time cannot be equal or greater than end time")
        times.append({"start_time": str(start).zfill(5), "end_time": str(end).zfill(5)})
    if times:
        out["times"] = times
    for key, what in (("weekdays", "weekday"), ("days_of_month", "day"), ("months", "month"), ("years", "year")):
        values = [_range(v, what) for v in body.get(key) or []]
        if values:
            out[key] = values
    if body.get("location"):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(body["location"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad(f"invalid object specification: unknown time zone {body['location']!r}") from None
        out["location"] = str(body["location"])
    return out


def _mute_timing_json(row: Any) -> dict[str, Any]:
    intervals = json.loads(row["doc"])
    out: dict[str, Any] = {"name": row["name"], "time_intervals": intervals, "version": _version(intervals)}
    if row["provenance"]:
        out["provenance"] = row["provenance"]
    return out


# --- templates -------------------------------------------------------------------------------------
_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_OPENERS = ("define", "if", "range", "with", "block")


_COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.S)


def _check_template(text: str) -> None:
    text = _COMMENT.sub("", text)  # a comment may hold anything up to its */ (text/template's lexer)
    if text.count("{{") != text.count("}}"):
        raise _bad("invalid template: template: unclosed action")
    depth = 0
    for action in _ACTION.findall(text):
        word = action.split(" ", 1)[0]
        if word in _OPENERS:
            depth += 1
        elif word == "end":
            depth -= 1
            if depth < 0:
                raise _bad("invalid template: template: unexpected {{end}}")
    if depth:
        raise _bad("invalid template: template: unexpected EOF")


def _template_json(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row["name"], "template": row["template"], "version": _version(row["template"])}
    if row["provenance"]:
        out["provenance"] = row["provenance"]
    return out


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    with state.connect() as conn:
        if (
            conn.execute("SELECT COUNT(*) FROM grafana_contact_points").fetchone()[0] == 0
            and not conn.execute("SELECT 1 FROM grafana_policy_tree").fetchone()
        ):
            conn.execute(
                "INSERT INTO grafana_contact_points (uid, name, type, settings, secure) VALUES (?, ?, 'email', ?, '{}')",
                ("default-email-receiver", DEFAULT_RECEIVER, json.dumps({"addresses": "<example@email.com>"})),
            )
        conn.execute(
            "INSERT OR IGNORE INTO grafana_policy_tree (org_id, doc) VALUES (1, ?)", (json.dumps(DEFAULT_TREE),)
        )
    bp = Blueprint("grafana_notifications", __name__)

    def api(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            from .grafana_alerting.http import authenticate as _authenticate
            from .grafana_alerting.store import ApiError as RuleApiError

            try:
                _authenticate(settings)
                return fn(**kwargs)
            except (ApiError, RuleApiError) as exc:
                if exc.body is None:
                    return Response(status=exc.status)
                return _json(exc.body, exc.status)

        wrapper.__name__ = f"grafana_notifications_{fn.__name__}"
        return wrapper

    def body() -> Any:
        try:
            return json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            raise _bad("bad request data") from None

    def provenance() -> str:
        return "" if "X-Disable-Provenance" in request.headers else "api"

    def receiver_names(conn: Any) -> set[str]:
        return {r[0] for r in conn.execute("SELECT DISTINCT name FROM grafana_contact_points")}

    def tree(conn: Any) -> tuple[dict[str, Any], str]:
        row = conn.execute("SELECT doc, provenance FROM grafana_policy_tree WHERE org_id = 1").fetchone()
        return (json.loads(row["doc"]), row["provenance"]) if row else (dict(DEFAULT_TREE), "")

    def routed_to(conn: Any, name: str) -> bool:
        receivers: set[str] = set()
        _references(tree(conn)[0], receivers, set())
        if name in receivers:
            return True
        try:
            docs = conn.execute("SELECT doc FROM grafana_rules").fetchall()
        except Exception:  # the rules emulator is not registered
            return False
        return any(((json.loads(d["doc"]).get("notification_settings") or {}).get("receiver")) == name for d in docs)

    def reads(path: str, table: _ByName, singular: str) -> None:
        """`GET {path}` (all, by name) and `GET {path}/{name}` (one, or Grafana's 404)."""

        def list_all() -> Any:
            return _json(table.listing(state))

        def get_one(name: str) -> Any:
            with state.connect() as conn:
                return _json(table.to_json(table.found(conn, name)))

        list_all.__name__, get_one.__name__ = f"list_{singular}s", f"get_{singular}"
        bp.get(f"{PREFIX}/{path}")(api(list_all))
        bp.get(f"{PREFIX}/{path}/<path:name>")(api(get_one))

    def check_not_last_routed(conn: Any, row: Any) -> None:
        """A contact point the policy tree or a rule routes to keeps its last integration (409)."""
        others = conn.execute(
            "SELECT COUNT(*) FROM grafana_contact_points WHERE name = ? AND uid != ?", (row["name"], row["uid"])
        ).fetchone()[0]
        if not others and routed_to(conn, row["name"]):
            raise _errutil(
                409,
                "alerting.notifications.contact-points.referenced",
                "contact point is referenced by notification policies or alert rules",
            )

    # --- contact points ----------------------------------------------------------------------------
    @bp.get(f"{PREFIX}/contact-points")
    @api
    def list_contact_points() -> Any:
        name = request.args.get("name")
        with state.connect() as conn:
            rows = conn.execute("SELECT * FROM grafana_contact_points ORDER BY name, position").fetchall()
        return _json([_contact_point_json(r) for r in rows if name is None or r["name"] == name])

    @bp.post(f"{PREFIX}/contact-points")
    @api
    def create_contact_point() -> Any:
        integ = _validate_integration(body())
        plain, secure = _split_secure(integ["type"], integ["settings"])
        _check_required(integ, secure)
        with state.connect() as conn:
            uid = integ["uid"] or _version([integ["name"], integ["type"], len(receiver_names(conn))])[:14]
            if conn.execute("SELECT 1 FROM grafana_contact_points WHERE uid = ?", (uid,)).fetchone():
                raise _bad(f"invalid object specification: a contact point with UID '{uid}' already exists")
            conn.execute(
                "INSERT INTO grafana_contact_points (uid, name, type, settings, secure, disable_resolve, provenance) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uid, *_contact_point_values(integ, plain, secure, provenance())),
            )
            row = conn.execute("SELECT * FROM grafana_contact_points WHERE uid = ?", (uid,)).fetchone()
        return _json(_contact_point_json(row), 202)

    @bp.put(f"{PREFIX}/contact-points/<uid>")
    @api
    def update_contact_point(uid: str) -> Any:
        integ = _validate_integration(body())
        with state.connect() as conn:
            row = conn.execute("SELECT * FROM grafana_contact_points WHERE uid = ?", (uid,)).fetchone()
            if row is None:
                raise _errutil(404, "alerting.notifications.contact-points.notFound", "contact point not found")
            _check_provenance(row["provenance"], provenance(), "update")
            plain, secure = _split_secure(integ["type"], integ["settings"])
            stored = json.loads(row["secure"]) if row["type"] == integ["type"] else {}
            for key in SECURE[integ["type"]]:
                if key not in secure or secure[key] == REDACTED:
                    if key in stored:
                        secure[key] = stored[key]
                    else:
                        secure.pop(key, None)
            integ["uid"] = uid
            _check_required(integ, secure)
            if row["name"] != integ["name"]:
                check_not_last_routed(conn, row)
            conn.execute(
                "UPDATE grafana_contact_points SET name = ?, type = ?, settings = ?, secure = ?, disable_resolve = ?, "
                "provenance = ? WHERE uid = ?",
                (*_contact_point_values(integ, plain, secure, provenance()), uid),
            )
        return _json({"message": "contactpoint updated"}, 202)

    @bp.delete(f"{PREFIX}/contact-points/<uid>")
    @api
    def delete_contact_point(uid: str) -> Any:
        with state.connect() as conn:
            row = conn.execute("SELECT * FROM grafana_contact_points WHERE uid = ?", (uid,)).fetchone()
            if row is not None:
                _check_provenance(row["provenance"], provenance(), "delete")
                check_not_last_routed(conn, row)
                conn.execute("DELETE FROM grafana_contact_points WHERE uid = ?", (uid,))
        return _json({"message": "contactpoint deleted"}, 202)

    # --- policy tree -------------------------------------------------------------------------------
    @bp.get(f"{PREFIX}/policies")
    @api
    def get_policies() -> Any:
        with state.connect() as conn:
            doc, prov = tree(conn)
        return _json({**doc, **({"provenance": prov} if prov else {})})

    @bp.put(f"{PREFIX}/policies")
    @api
    def put_policies() -> Any:
        doc = _decode_route(body(), root=True)
        with state.connect() as conn:
            _check_provenance(tree(conn)[1], provenance(), "update")
            receivers: set[str] = set()
            intervals: set[str] = set()
            _references(doc, receivers, intervals)
            missing = sorted(receivers - receiver_names(conn))
            if missing:
                raise _bad(f"invalid object specification: receiver '{missing[0]}' does not exist")
            known = {r[0] for r in conn.execute("SELECT name FROM grafana_mute_timings")}
            unknown = sorted(intervals - known)
            if unknown:
                raise _bad(f"invalid object specification: mute time interval '{unknown[0]}' does not exist")
            conn.execute(
                "INSERT OR REPLACE INTO grafana_policy_tree (org_id, doc, provenance) VALUES (1, ?, ?)",
                (json.dumps(doc), provenance()),
            )
        return _json({"message": "policies updated"}, 202)

    @bp.delete(f"{PREFIX}/policies")
    @api
    def reset_policies() -> Any:
        with state.connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO grafana_policy_tree (org_id, doc, provenance) VALUES (1, ?, '')",
                (json.dumps(DEFAULT_TREE),),
            )
        return _json({"message": "policies resetted"}, 202)

    # --- mute timings ------------------------------------------------------------------------------
    timings = _ByName(
        "grafana_mute_timings",
        _mute_timing_json,
        ("alerting.notifications.time-intervals.notFound", "time interval not found"),
    )

    def decode_timing(doc: Any) -> tuple[str, list[dict[str, Any]]]:
        if not isinstance(doc, dict):
            raise _bad("bad request data")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _bad("invalid object specification: mute time interval must have a name")
        return name, [_decode_interval(i) for i in doc.get("time_intervals") or []]

    reads("mute-timings", timings, "mute_timing")

    @bp.post(f"{PREFIX}/mute-timings")
    @api
    def create_mute_timing() -> Any:
        name, intervals = decode_timing(body())
        with state.connect() as conn:
            if timings.row(conn, name) is not None:
                raise _errutil(
                    409, "alerting.notifications.time-intervals.nameExists", "a time interval with this name exists"
                )
            conn.execute(
                "INSERT INTO grafana_mute_timings (name, doc, provenance) VALUES (?, ?, ?)",
                (name, json.dumps(intervals), provenance()),
            )
            row = timings.row(conn, name)
        return _json(_mute_timing_json(row), 201)

    @bp.put(f"{PREFIX}/mute-timings/<path:name>")
    @api
    def update_mute_timing(name: str) -> Any:
        doc = body()
        new_name, intervals = decode_timing({**(doc if isinstance(doc, dict) else {}), "name": name})
        with state.connect() as conn:
            row = timings.found(conn, name)
            _check_provenance(row["provenance"], provenance(), "update")
            _check_version((doc or {}).get("version"), _version(json.loads(row["doc"])), "time interval")
            conn.execute(
                "UPDATE grafana_mute_timings SET doc = ?, provenance = ? WHERE name = ?",
                (json.dumps(intervals), provenance(), new_name),
            )
            row = timings.row(conn, name)
        return _json(_mute_timing_json(row))

    @bp.delete(f"{PREFIX}/mute-timings/<path:name>")
    @api
    def delete_mute_timing(name: str) -> Any:
        with state.connect() as conn:
            row = timings.writable(conn, name, provenance(), "delete")
            if row is None:
                return Response(status=204)
            _check_version(request.args.get("version"), _version(json.loads(row["doc"])), "time interval")
            intervals: set[str] = set()
            _references(tree(conn)[0], set(), intervals)
            if name in intervals:
                raise _errutil(
                    409,
                    "alerting.notifications.time-intervals.used",
                    "time interval is used by one or many notification policies",
                )
            conn.execute("DELETE FROM grafana_mute_timings WHERE name = ?", (name,))
        return Response(status=204)

    # --- templates ---------------------------------------------------------------------------------
    templates = _ByName(
        "grafana_templates", _template_json, ("alerting.notifications.templates.notFound", "template not found")
    )

    reads("templates", templates, "template")

    @bp.put(f"{PREFIX}/templates/<path:name>")
    @api
    def put_template(name: str) -> Any:
        doc = body()
        if not isinstance(doc, dict) or not isinstance(doc.get("template"), str):
            raise _bad("bad request data")
        text = doc["template"]
        if not text.strip():
            raise _bad("invalid object specification: template must have content")
        _check_template(text)
        with state.connect() as conn:
            row = templates.writable(conn, name, provenance(), "update")
            version = doc.get("version") or ""
            if row is not None:
                _check_version(version, _version(row["template"]), "template")
            elif version:
                raise _errutil(409, "alerting.notifications.conflict", "version conflict: the template does not exist")
            conn.execute(
                "INSERT OR REPLACE INTO grafana_templates (name, template, provenance) VALUES (?, ?, ?)",
                (name, text, provenance()),
            )
            row = templates.row(conn, name)
        return _json(_template_json(row), 202)

    @bp.delete(f"{PREFIX}/templates/<path:name>")
    @api
    def delete_template(name: str) -> Any:
        with state.connect() as conn:
            if templates.writable(conn, name, provenance(), "delete") is not None:
                conn.execute("DELETE FROM grafana_templates WHERE name = ?", (name,))
        return Response(status=204)

    # --- test controls (never real Grafana paths) ---------------------------------------------------
    @bp.get("/sandbox/grafana/contact-points/<uid>/secrets")
    def reveal_secrets(uid: str) -> Any:
        """What Grafana holds encrypted (tests check a secret was written, and which)."""
        with state.connect() as conn:
            row = conn.execute("SELECT secure FROM grafana_contact_points WHERE uid = ?", (uid,)).fetchone()
        return _json(json.loads(row["secure"]) if row else {}, 200 if row else 404)

    app.register_blueprint(bp)
