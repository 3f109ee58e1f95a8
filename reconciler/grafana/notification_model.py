"""Spec models and comparable forms of Grafana's notification objects (pure: no I/O).

Contact points, the notification policy tree, mute timings and message templates, as the
provisioning API (`/api/v1/provisioning/contact-points`, `/policies`, `/mute-timings`,
`/templates`, Grafana 11/12) stores them. Both sides go through the same `*_state` functions, so
what Grafana normalises (month numbers written as names, durations as `5m`, empty lists omitted)
never shows as a change.

Secrets: the settings Grafana encrypts and returns as `[REDACTED]` (webhook passwords, API keys,
Slack URLs, ...) are declared under `secure_settings`, from `${env:NAME}` only. The comparable
state never holds them: it holds a salted, slow digest (`secret_digest`), and the live side's
digest is the one reconciler recorded in its ledger when it last wrote the secret. So a secret is
compared without ever being read back or printed, and an unchanged secret is never a diff.

Ownership: Grafana gives none of these objects a free metadata field (no annotations, no labels),
so reconciler records what it owns in one ledger per project, itself a message template named
`reconciler-ledger-<project>` whose text is a Go-template comment holding JSON (it renders
nothing and no notification references it). See `Ledger`.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reconciler.specs.envelope import KindSpec

from .spec_model import format_duration, parse_duration

REDACTED = "[REDACTED]"  # what Grafana returns in place of a secure setting
DEFAULT_RECEIVER = "grafana-default-email"
POLICY_KEY = "policy-tree"  # one tree per organisation: the key of the only GrafanaNotificationPolicy
LEDGER_PREFIX = "reconciler-ledger-"
SECRET_DIGEST_ITERATIONS = 100_000

# Settings Grafana stores encrypted (`Secure: true` in its channel definitions), per integration
# type. A spec must put these under `secure_settings`.
SECURE_FIELDS: dict[str, tuple[str, ...]] = {
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
# Settings an integration cannot work without (Grafana answers 400 without them); a tuple inside
# means "one of".
REQUIRED_SETTINGS: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "email": ("addresses",),
    "webhook": ("url",),
    "slack": (("url", "token"),),
    "pagerduty": ("integrationKey",),
    "opsgenie": ("apiKey",),
    "teams": ("url",),
    "discord": ("url",),
    "googlechat": ("url",),
    "telegram": ("bottoken", "chatid"),
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
MATCH_OPERATORS = ("=~", "!~", "!=", "=")  # longest first, for parsing
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*|"[^"]*")\s*(=~|!~|!=|=)\s*(.*?)\s*$')


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- secrets ------------------------------------------------------------------------------------
def secret_digest(scope: str, value: str) -> str:
    """A digest of a secret that says whether it changed and not what it is: PBKDF2 (slow, so a
    guessed password costs real time per guess), salted with where the secret lives."""
    raw = hashlib.pbkdf2_hmac("sha256", value.encode(), f"reconciler-secret/{scope}".encode(), SECRET_DIGEST_ITERATIONS)
    return f"secret:pbkdf2:{raw.hex()[:16]}"


SECRET_SET_OUTSIDE = "secret:set outside reconciler (cannot be compared)"


# --- contact points -----------------------------------------------------------------------------
class Integration(_Strict):
    type: str = Field(description="Integration type as Grafana names it: email, webhook, slack, pagerduty, ...")
    settings: dict[str, Any] = Field(default_factory=dict, description="The integration's settings, as in Grafana.")
    secure_settings: dict[str, str] = Field(
        default_factory=dict,
        description="Settings Grafana encrypts (passwords, API keys, webhook URLs of Slack/Discord...). "
        "Values must come from the environment (`${env:NAME}`); never printed, compared by digest.",
    )
    disable_resolve_message: bool = False

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in SECURE_FIELDS:
            raise ValueError(f"unknown integration type {value!r}; known: {', '.join(sorted(SECURE_FIELDS))}")
        return value


class GrafanaContactPointSpec(KindSpec):
    name: str | None = Field(default=None, min_length=1, max_length=190, description="Default: metadata.name.")
    integrations: list[Integration] = Field(min_length=1)


def integration_problems(index: int, integ: Integration) -> list[tuple[tuple[str | int, ...], str]]:
    out: list[tuple[tuple[str | int, ...], str]] = []
    secure = SECURE_FIELDS[integ.type]
    for key in integ.settings:
        if key in secure:
            out.append(
                (
                    ("spec", "integrations", index, "settings", key),
                    f"{key} is a secret of {integ.type} integrations: declare it under secure_settings from ${{env:NAME}}",
                )
            )
    for key in integ.secure_settings:
        if key not in secure:
            out.append(
                (
                    ("spec", "integrations", index, "secure_settings", key),
                    f"{key} is not a secure setting of {integ.type} integrations"
                    + (f" (those are: {', '.join(secure)})" if secure else " (they have none)")
                    + "; put it under settings",
                )
            )
    present = set(integ.settings) | set(integ.secure_settings)
    for need in REQUIRED_SETTINGS.get(integ.type, ()):
        options = need if isinstance(need, tuple) else (need,)
        if not present & set(options):
            out.append(
                (
                    ("spec", "integrations", index, "settings"),
                    f"{integ.type} integrations need {' or '.join(options)}",
                )
            )
    return out


def contact_point_state(name: str, integrations: list[dict[str, Any]]) -> dict[str, Any]:
    """The comparable form: `integrations` entries with `type`, `settings` (no secrets),
    `secure_settings` (digests) and `disable_resolve_message`."""
    return {"name": name, "integrations": integrations}


def desired_contact_point_state(name: str, spec: GrafanaContactPointSpec) -> dict[str, Any]:
    return contact_point_state(
        name,
        [
            {
                "type": i.type,
                "settings": dict(i.settings),
                "secure_settings": {
                    k: secret_digest(f"{name}/{index}/{i.type}/{k}", v) for k, v in sorted(i.secure_settings.items())
                },
                "disable_resolve_message": i.disable_resolve_message,
            }
            for index, i in enumerate(spec.integrations)
        ],
    )


def live_contact_point_state(
    name: str, integrations: list[dict[str, Any]], digests: dict[str, dict[str, str]]
) -> dict[str, Any]:
    """Live integrations (Grafana's answers, secrets redacted) in the comparable form; `digests`
    are the ones recorded in the ledger per integration uid."""
    out = []
    for integ in integrations:
        kind = str(integ.get("type"))
        secure = SECURE_FIELDS.get(kind, ())
        settings = dict(integ.get("settings") or {})
        recorded = digests.get(str(integ.get("uid")), {})
        secrets = {}
        for key in sorted(set(settings) & set(secure)):
            value = settings.pop(key)
            if value in (None, ""):
                continue
            secrets[key] = recorded.get(key, SECRET_SET_OUTSIDE) if value == REDACTED else SECRET_SET_OUTSIDE
        out.append(
            {
                "type": kind,
                "settings": settings,
                "secure_settings": secrets,
                "disable_resolve_message": bool(integ.get("disableResolveMessage")),
            }
        )
    return contact_point_state(name, out)


def api_integration(name: str, integ: Integration, uid: str | None) -> dict[str, Any]:
    """The EmbeddedContactPoint body for one integration (secrets included: write-only)."""
    body: dict[str, Any] = {
        "name": name,
        "type": integ.type,
        "settings": {**integ.settings, **integ.secure_settings},
        "disableResolveMessage": integ.disable_resolve_message,
    }
    if uid:
        body["uid"] = uid
    return body


def integration_uid(name: str, index: int) -> str:
    """A stable uid for a contact point's integration reconciler creates (valid Grafana uid)."""
    return "rc" + hashlib.sha256(f"{name}\x00{index}".encode()).hexdigest()[:14]


# --- mute timings ------------------------------------------------------------------------------
class TimeRange(_Strict):
    start_time: str
    end_time: str

    @model_validator(mode="after")
    def _check(self) -> TimeRange:
        for value in (self.start_time, self.end_time):
            m = _TIME.match(value)
            if not m or (int(m.group(1)) == 24 and m.group(2) != "00"):
                raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
        if _minutes(self.start_time) >= _minutes(self.end_time):
            raise ValueError(f"start_time {self.start_time} must be before end_time {self.end_time}")
        return self


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


class TimeInterval(_Strict):
    times: list[TimeRange] = Field(default_factory=list)
    weekdays: list[str] = Field(default_factory=list, description="e.g. monday:friday, sunday")
    days_of_month: list[str] = Field(default_factory=list, description="e.g. 1:7, -1 (the last day)")
    months: list[str] = Field(default_factory=list, description="e.g. 1:3 or january:march")
    years: list[str] = Field(default_factory=list, description="e.g. 2026 or 2026:2027")
    location: str | None = Field(default=None, description="IANA time zone, e.g. Europe/Berlin (default UTC)")

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, values: list[str]) -> list[str]:
        return [normalise_range(v, "weekday") for v in values]

    @field_validator("months")
    @classmethod
    def _months(cls, values: list[str]) -> list[str]:
        return [normalise_range(v, "month") for v in values]

    @field_validator("days_of_month")
    @classmethod
    def _days(cls, values: list[str]) -> list[str]:
        return [normalise_range(str(v), "day") for v in values]

    @field_validator("years")
    @classmethod
    def _years(cls, values: list[str]) -> list[str]:
        return [normalise_range(str(v), "year") for v in values]

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)") from None
        return value


def normalise_range(text: str, what: str) -> str:
    """One range as Grafana writes it back: weekdays and months by lower-case name, a range whose
    ends are equal as one value (Alertmanager's timeinterval marshalling)."""
    parts = [p.strip().lower() for p in str(text).split(":")]
    if len(parts) > 2 or not all(parts):
        raise ValueError(f"{text!r} is not a {what} or a range {what}:{what}")
    out = [_range_end(p, what) for p in parts]
    if what in ("weekday", "month") and len(out) == 2:
        names = WEEKDAYS if what == "weekday" else MONTHS
        if names.index(out[0]) > names.index(out[1]):
            raise ValueError(f"{text!r}: the range must run forwards")
    if len(out) == 2 and out[0] == out[1]:
        return out[0]
    return ":".join(out)


def _range_end(part: str, what: str) -> str:
    if what == "weekday":
        if part not in WEEKDAYS:
            raise ValueError(f"{part!r} is not a weekday name")
        return part
    if what == "month":
        if part.isdigit() and 1 <= int(part) <= 12:
            return MONTHS[int(part) - 1]
        if part not in MONTHS:
            raise ValueError(f"{part!r} is not a month (1-12 or its name)")
        return part
    try:
        number = int(part)
    except ValueError:
        raise ValueError(f"{part!r} is not a number") from None
    if what == "day" and not (1 <= abs(number) <= 31):
        raise ValueError(f"{part!r} is not a day of the month (1..31, or -31..-1 from the end)")
    if what == "year" and number < 0:
        raise ValueError(f"{part!r} is not a year")
    return str(number)


class GrafanaMuteTimingSpec(KindSpec):
    name: str | None = Field(default=None, min_length=1, max_length=190, description="Default: metadata.name.")
    time_intervals: list[TimeInterval] = Field(
        min_length=1, description="When notifications are muted (any interval matching mutes)."
    )


def time_intervals_state(intervals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparable form: empty lists and unset locations dropped (Grafana omits them)."""
    out = []
    for interval in intervals:
        entry: dict[str, Any] = {}
        for key in ("times", "weekdays", "days_of_month", "months", "years"):
            value = interval.get(key) or []
            if value:
                entry[key] = (
                    [{"start_time": t["start_time"], "end_time": t["end_time"]} for t in value]
                    if key == "times"
                    else [str(v) for v in value]
                )
        if interval.get("location"):
            entry["location"] = interval["location"]
        out.append(entry)
    return out


# --- templates ----------------------------------------------------------------------------------
class GrafanaTemplateSpec(KindSpec):
    name: str | None = Field(default=None, min_length=1, max_length=190, description="Default: metadata.name.")
    template: str = Field(min_length=1, description='Go template text, e.g. {{ define "sla.title" }}...{{ end }}.')


# --- notification policy tree -------------------------------------------------------------------
class Route(_Strict):
    receiver: str | None = Field(default=None, description="Contact point name; default: the parent's.")
    matchers: list[str] = Field(
        default_factory=list, description='Label matchers, e.g. "team = data-platform", "severity =~ critical|page".'
    )
    continue_: bool = Field(default=False, alias="continue", description="Keep matching sibling routes.")
    group_by: list[str] | None = None
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None
    mute_time_intervals: list[str] = Field(default_factory=list, description="Mute timing names.")
    active_time_intervals: list[str] = Field(default_factory=list, description="Mute timing names (active only then).")
    routes: list[Route] = Field(default_factory=list)

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, values: list[str]) -> list[str]:
        for value in values:
            parse_matcher(value)
        return values

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else format_duration(parse_duration(value))


class GrafanaNotificationPolicySpec(KindSpec):
    receiver: str = Field(description="The default contact point (root of the tree).")
    group_by: list[str] | None = Field(default=None, description="Default: Grafana's [grafana_folder, alertname].")
    group_wait: str | None = None
    group_interval: str | None = None
    repeat_interval: str | None = None
    routes: list[Route] = Field(default_factory=list)

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        return None if value is None else format_duration(parse_duration(value))


def parse_matcher(text: str) -> list[str]:
    """`team = data-platform` -> ["team", "=", "data-platform"] (Grafana's object_matchers)."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a matcher LABEL OP VALUE with OP one of =, !=, =~, !~")
    name, op, value = m.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return [name.strip('"'), op, value]


def route_state(route: dict[str, Any], root: bool = False) -> dict[str, Any]:
    """A route (Grafana's JSON shape) in the comparable form: empty fields dropped (Grafana's
    omitempty), durations in Grafana's rendering, matchers as [name, op, value]."""
    out: dict[str, Any] = {}
    if route.get("receiver"):
        out["receiver"] = route["receiver"]
    if route.get("group_by") is not None and (root or route.get("group_by")):
        out["group_by"] = list(route["group_by"])
    if not root and route.get("object_matchers"):
        out["object_matchers"] = [list(m) for m in route["object_matchers"]]
    if route.get("continue"):
        out["continue"] = True
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if route.get(key):
            out[key] = format_duration(parse_duration(route[key]))
    for key in ("mute_time_intervals", "active_time_intervals"):
        if route.get(key):
            out[key] = list(route[key])
    if route.get("routes"):
        out["routes"] = [route_state(r) for r in route["routes"]]
    return out


def api_route(route: Route) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if route.receiver:
        body["receiver"] = route.receiver
    if route.matchers:
        body["object_matchers"] = [parse_matcher(m) for m in route.matchers]
    if route.continue_:
        body["continue"] = True
    if route.group_by is not None:
        body["group_by"] = list(route.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if getattr(route, key):
            body[key] = getattr(route, key)
    for key in ("mute_time_intervals", "active_time_intervals"):
        if getattr(route, key):
            body[key] = list(getattr(route, key))
    if route.routes:
        body["routes"] = [api_route(r) for r in route.routes]
    return body


def api_policy_tree(spec: GrafanaNotificationPolicySpec) -> dict[str, Any]:
    body: dict[str, Any] = {"receiver": spec.receiver}
    if spec.group_by is not None:
        body["group_by"] = list(spec.group_by)
    for key in ("group_wait", "group_interval", "repeat_interval"):
        if getattr(spec, key):
            body[key] = getattr(spec, key)
    if spec.routes:
        body["routes"] = [api_route(r) for r in spec.routes]
    return body


def policy_references(tree: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(receivers, time interval names) a tree in Grafana's shape refers to."""
    receivers: set[str] = set()
    intervals: set[str] = set()

    def walk(route: dict[str, Any]) -> None:
        if route.get("receiver"):
            receivers.add(route["receiver"])
        intervals.update(route.get("mute_time_intervals") or [])
        intervals.update(route.get("active_time_intervals") or [])
        for child in route.get("routes") or []:
            walk(child)

    walk(tree)
    return receivers, intervals


def count_routes(tree: dict[str, Any]) -> int:
    return sum(1 + count_routes(r) for r in tree.get("routes") or [])


def is_default_tree(tree: dict[str, Any]) -> bool:
    """Grafana's tree of a fresh organisation (nothing anyone configured would be lost)."""
    return not tree.get("routes") and tree.get("receiver") in (None, "", DEFAULT_RECEIVER)


# --- the ownership ledger ----------------------------------------------------------------------
Section = Literal["contact_points", "mute_timings", "templates", "policy", "folders"]
SECTIONS: tuple[Section, ...] = ("contact_points", "mute_timings", "templates", "policy", "folders")
# The sections of objects the ledger owns; `folders` only records what was applied to the
# project's folders (a folder has no field to carry it), never their ownership.
OWNED_SECTIONS: tuple[Section, ...] = ("contact_points", "mute_timings", "templates", "policy")


def ledger_name(owner: str) -> str:
    """`reconciler/sla-monitoring` -> `reconciler-ledger-sla-monitoring`."""
    project = owner.split("/", 1)[-1]
    return LEDGER_PREFIX + (re.sub(r"[^A-Za-z0-9._-]+", "-", project).strip("-") or "default")


class Ledger:
    """What one project owns among the notification objects, stored in Grafana as a template.

    Entries: `{section: {name: {"spec": metadata.name, "prevent_destroy": bool,
    "secrets": {integration uid: {field: digest}}, "applied_digest": digest}}}`; the `folders`
    section holds `{folder uid: {"spec": metadata.name, "applied_digest": digest}}`."""

    HEADER = "{{/* reconciler ownership ledger: written by reconciler, do not edit. "
    FOOTER = " */}}"

    def __init__(self, owner: str, entries: dict[str, Any] | None = None) -> None:
        self.owner = owner
        self.entries: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in SECTIONS}
        # Sections this version does not know (a newer reconciler's): carried through every write
        # unchanged, so running an older version never erases what a newer one recorded.
        self.carried: dict[str, Any] = {}
        for section, items in (entries or {}).items():
            if section not in self.entries:
                self.carried[section] = items
            elif isinstance(items, dict):
                self.entries[section] = {str(k): dict(v) for k, v in items.items() if isinstance(v, dict)}

    def get(self, section: Section, name: str) -> dict[str, Any] | None:
        return self.entries[section].get(name)

    def owns_any(self) -> bool:
        """Whether the ledger names any notification object of the project's."""
        return any(self.entries[s] for s in OWNED_SECTIONS)

    def render(self) -> str:
        data = json.dumps({**self.carried, "owner": self.owner, **self.entries}, sort_keys=True, separators=(",", ":"))
        # A Go-template comment ends at "*/": keep it out of the JSON (a valid JSON escape).
        return self.HEADER + data.replace("*/", "*\\u002f") + self.FOOTER

    @classmethod
    def parse(cls, owner: str, text: str) -> Ledger:
        body = text.strip()
        if not (body.startswith(cls.HEADER.strip()) and body.endswith(cls.FOOTER.strip())):
            raise ValueError("not a reconciler ledger")
        data = json.loads(body[len(cls.HEADER.strip()) : -len(cls.FOOTER.strip())])
        if not isinstance(data, dict) or data.get("owner") != owner:
            raise ValueError(f"the ledger belongs to {data.get('owner') if isinstance(data, dict) else '?'}")
        return cls(owner, {k: v for k, v in data.items() if k != "owner"})
