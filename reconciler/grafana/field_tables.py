"""What each field of the Grafana kinds is, how a change to it is applied, how Grafana returns it
and how it is compared: data the generic normaliser, the planner, `reconciler fields` and the
README's tables read (pure). `rule_form` maps the API's shape to the spec's; everything else about
comparing rules (defaults Grafana fills in, nodes keyed by refId) is stated here once."""

from __future__ import annotations

from reconciler.kinds.fields import FieldRule, FieldTable, OnChange

FOLDER_FIELDS = FieldTable(
    [
        FieldRule(
            "uid",
            OnChange.IDENTITY,
            "folder uid (default metadata.name)",
            replace_reason="Grafana cannot change a folder's uid",
        ),
        FieldRule("title", description="a rename; changes the grafana_folder label of every rule in it"),
        FieldRule("parent", description="moved with /api/folders/{uid}/move"),
        FieldRule("id", server_owned=True, description="numeric id"),
        FieldRule("version", server_owned=True, description="optimistic-locking version, sent back on updates"),
        FieldRule("url", server_owned=True),
    ]
)

RULE_GROUP_FIELDS = FieldTable(
    [
        FieldRule(
            "folder", description="part of the key folder/group; a change moves the rules (updates keeping their uids)"
        ),
        FieldRule("group", description="group name (default metadata.name), part of the key; a rename moves the rules"),
        FieldRule("interval", description="seconds, a multiple of 10; shared by every rule in the group"),
        FieldRule("rules", description="each rule is planned as a GrafanaAlertRule of its own"),
    ]
)

ALERT_RULE_FIELDS = FieldTable(
    [
        FieldRule(
            "uid",
            OnChange.IDENTITY,
            "explicit, or derived from folder, group and title",
            replace_reason="Grafana cannot change a rule's uid",
        ),
        FieldRule(
            "title",
            description="unique within the folder; with a derived uid, a rename keeps the rule when nothing else "
            "about it changes in the same plan",
        ),
        FieldRule("folder", description="a move to another folder keeps the rule (and its uid)"),
        FieldRule("group", description="a move to another group keeps the rule (and its uid)"),
        FieldRule("condition"),
        FieldRule("data", description="query nodes; compared down to each model field", keyed_by="refId"),
        FieldRule("data.*.model.intervalMs", description="filled in by Grafana", server_default=1000),
        FieldRule("data.*.model.maxDataPoints", description="filled in by Grafana", server_default=43200),
        FieldRule("for", description="compared in Grafana's form (300s = 5m)", server_default="0s"),
        FieldRule("labels", server_default={}),
        FieldRule(
            "annotations", description="reconciler_* keys are the ownership marker, never diffed", server_default={}
        ),
        FieldRule("no_data_state", server_default="NoData"),
        FieldRule("exec_err_state", server_default="Error"),
        FieldRule("is_paused", server_default=False),
        FieldRule(
            "keep_firing_for",
            description="how long an alert keeps firing after its condition stopped holding",
            server_default="0s",
        ),
        FieldRule("missing_series_evals_to_resolve", description="evaluations a missing series takes to resolve"),
        FieldRule(
            "notification_settings",
            description="simplified routing: receiver, group_by, timings, mute/active time intervals",
            empty_is_unset=True,
        ),
        FieldRule(
            "notification_settings.group_by",
            description="compared with alertname and grafana_folder added, as Grafana 12 stores it",
            unordered=True,
            empty_is_unset=True,
        ),
        FieldRule("notification_settings.mute_time_intervals", empty_is_unset=True),
        FieldRule("notification_settings.active_time_intervals", empty_is_unset=True),
        FieldRule(
            "record",
            description="a recording rule (metric, from, target_datasource_uid): no condition, never alerts; "
            "kept on every path (import, update, move)",
        ),
        FieldRule("dashboard_uid", description="dashboard link, written as the __dashboardUid__ annotation"),
        FieldRule("panel_id", description="panel link, written as the __panelId__ annotation"),
        FieldRule("id", server_owned=True),
        FieldRule("updated", server_owned=True),
        FieldRule("provenance", server_owned=True, description="api (locked in the UI), none (editable) or file"),
        FieldRule("orgID", server_owned=True),
    ]
)
