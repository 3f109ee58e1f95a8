"""Emulator of the Grafana HTTP API subset reconciler uses: alerting provisioning, folders, rule state.

One Flask Blueprint per API area (rules, groups, exports, folders, rule_state, controls), over one
store (`store`: tables, Grafana's validation and JSON shapes) and one HTTP layer (`http`: auth,
bodies, error responses). A new area is one module with `blueprint(grafana)` and one line in
`BLUEPRINTS`.

Follows **Grafana 11.x** (read in grafana/grafana: `pkg/services/ngalert/api/api_provisioning.go`,
`pkg/services/ngalert/provisioning/alert_rules.go`, `pkg/services/ngalert/models/alert_rule.go`,
`models/alert_query.go`, `models/errors.go`, `pkg/util/shortid_generator.go`,
`pkg/api/apierrors/folder.go`) with nested folders enabled (the 11.x default). Paths, status codes,
JSON shapes and error bodies are Grafana's:

- `/api/v1/provisioning/alert-rules` GET (list) / POST (201); `/alert-rules/{uid}` GET / PUT /
  DELETE (204, idempotent); `/alert-rules/export`, `/alert-rules/{uid}/export`;
  `/api/v1/provisioning/folder/{folderUid}/rule-groups/{group}` GET / PUT (+ `/export`).
- `/api/folders` GET (top-level folders, or the children of `?parentUid=`) / POST;
  `/api/folders/{uid}/counts` (descendant counts: folder, dashboard, librarypanel, alertrule);
  `/api/folders/{uid}` GET / PUT (version check, 412) / DELETE (`?forceDeleteRules=true`);
  `/api/folders/{uid}/move`.
- `/api/prometheus/grafana/api/v1/rules`: evaluation state per rule, set by tests through
  `/sandbox/grafana/rules/{uid}/state`. Other test controls (never real Grafana paths):
  `PATCH /sandbox/grafana/rules/{uid}` (an edit made in the UI behind the tool's back) and
  `PUT /sandbox/grafana/rules/{uid}/provenance` (e.g. mark a rule as provisioned from a file);
  `POST /sandbox/grafana/dashboards` `{uid, folderUid, title}` (a dashboard in a folder, which a
  folder delete takes with it);
  `SandboxSettings.extra["grafana_rule_state_status"]` makes the state API answer that status.

Behaviour kept from Grafana 11 because clients depend on it:
- error bodies: `{"message": ...}` for plain errors (400 validation), Grafana's errutil shape
  `{"statusCode", "messageId", "message"}` for typed ones (group not found 404, duplicate uid 409,
  provenance mismatch 409, invalid relative time range 400), folder
  404 `{"status": "not-found", "message": "folder not found"}`, `{"message": "bad request data"}`
  when the body does not decode; GET/PUT of a missing rule answer 404 with an empty body;
- the server fills query models with `intervalMs: 1000` and `maxDataPoints: 43200` and copies a
  model's `queryType` to the query; `for` is returned in Prometheus duration form (`300s` -> `5m`);
  empty labels/annotations and empty provenance are omitted; `notification_settings` and
  `record` are `null` when unset; GET of a group does not carry provenance;
- a single-rule POST ignores the submitted interval and uses the group's (or the 60 s default); a
  single-rule PUT keeps the rule's stored interval; a group PUT replaces the group's rule list
  (rules missing from it are deleted, rules whose uid lives in another group move into it, a body
  without `rules` changes only the interval) and updates only rules that differ, so unchanged
  rules keep their evaluation state; any updated rule's state is reset;
- intervals must be positive multiples of the 10 s base interval; uids at most 40 characters of
  letters, digits, `-`, `_`; titles unique per folder; the folder must exist;
- provenance: writes without `X-Disable-Provenance` record `api`, with it none. A single-rule PUT
  or DELETE whose stored provenance is neither none nor the caller's fails with 409
  `alerting.provenanceMismatch` ("cannot update with provided provenance '', needs 'api'", the
  errutil error current Grafana returns; some older releases answered a bare 500); a group write
  may also turn `api` into none; `file` rules cannot be changed through the API;
- a folder holding rules is only deleted with `forceDeleteRules=true` (400 otherwise).

Grafana 12's rule fields (its `ProvisionedAlertRule` / `AlertRuleExport` definitions): `keep_firing_for`
(always returned, `0s` when unset), `missingSeriesEvalsToResolve` (omitted when unset, at least 1),
`notification_settings.active_time_intervals`, a group_by without `alertname` / `grafana_folder`
accepted with them added, the dashboard link as the `__dashboardUid__` / `__panelId__` annotations
(both or neither); recording rules (`record: {metric, from, target_datasource_uid}`): a valid
Prometheus metric name, `from` naming a query, and Grafana's ClearRecordingRuleIgnoredFields (no
condition, states, `for`, `keep_firing_for`, notification settings or missing-series setting);
PatchPartialAlertRule counts `record.from` as a condition (hasAnyCondition), so a group write
updates a recording rule's queries. Export follows `AlertingFileExport` exactly: a group is
`{orgId, name, folder (title path), interval, rules}` (no folder uid), a rule omits empty
condition/states/for, spells `dashboardUid`, `panelId`, `keepFiringFor`,
`missing_series_evals_to_resolve`, `record.targetDatasourceUid`. Fields of a newer Grafana can be
declared to the emulator (`SandboxSettings.extra["grafana_rule_fields"]`): stored and returned like
its own, so tests can prove they survive updates.

Not emulated: the condition is not checked against the refIds (Grafana 11's provisioning API does
not either), datasources and contact points are not checked.
Auth: `Authorization: Bearer <settings.token>` when a token is set (401 otherwise).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask

from ..settings import SandboxSettings
from ..state import SandboxState
from . import controls, exports, folders, groups, rule_state, rules
from .http import GrafanaApi
from .store import DDL, GrafanaStore

# One Blueprint per API area: adding an area is one module with `blueprint(grafana)` and one line here.
BLUEPRINTS: list[Callable[[GrafanaApi], Blueprint]] = [
    rules.blueprint,
    groups.blueprint,
    exports.blueprint,
    folders.blueprint,
    rule_state.blueprint,
    controls.blueprint,
]


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    state.init_schema(DDL)
    grafana = GrafanaApi(state, GrafanaStore(state), settings)
    for make in BLUEPRINTS:
        app.register_blueprint(make(grafana))
