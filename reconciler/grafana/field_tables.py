"""What each field of the Grafana kinds is and how a change to it is applied: data the generic
planner, `reconciler fields` and the README's tables read (pure)."""

from __future__ import annotations

from reconciler.kinds.fields import FieldBehaviour, FieldRule, FieldTable

FOLDER_FIELDS = FieldTable(
    [
        FieldRule(
            "uid",
            FieldBehaviour.IDENTITY,
            "folder uid (default metadata.name)",
            replace_reason="Grafana cannot change a folder's uid",
        ),
        FieldRule("title", FieldBehaviour.UPDATABLE, "a rename; changes the grafana_folder label of every rule in it"),
        FieldRule("parent", FieldBehaviour.UPDATABLE, "moved with /api/folders/{uid}/move"),
        FieldRule("id", FieldBehaviour.SERVER_OWNED, "numeric id"),
        FieldRule("version", FieldBehaviour.SERVER_OWNED, "optimistic-locking version, sent back on updates"),
        FieldRule("url", FieldBehaviour.SERVER_OWNED),
    ]
)

RULE_GROUP_FIELDS = FieldTable(
    [
        FieldRule(
            "folder",
            FieldBehaviour.UPDATABLE,
            "part of the key folder/group; a change moves the rules (updates keeping their uids)",
        ),
        FieldRule(
            "group",
            FieldBehaviour.UPDATABLE,
            "group name (default metadata.name), part of the key; a rename moves the rules",
        ),
        FieldRule("interval", FieldBehaviour.UPDATABLE, "seconds, a multiple of 10; shared by every rule in the group"),
        FieldRule("rules", FieldBehaviour.UPDATABLE, "each rule is planned as a GrafanaAlertRule of its own"),
    ]
)

ALERT_RULE_FIELDS = FieldTable(
    [
        FieldRule(
            "uid",
            FieldBehaviour.IDENTITY,
            "explicit, or derived from folder, group and title",
            replace_reason="Grafana cannot change a rule's uid",
        ),
        FieldRule(
            "title",
            FieldBehaviour.UPDATABLE,
            "unique within the folder; with a derived uid, a rename keeps the rule when nothing else about it changes in the same plan",
        ),
        FieldRule("folder", FieldBehaviour.UPDATABLE, "a move to another folder keeps the rule (and its uid)"),
        FieldRule("group", FieldBehaviour.UPDATABLE, "a move to another group keeps the rule (and its uid)"),
        FieldRule("condition", FieldBehaviour.UPDATABLE),
        FieldRule("data", FieldBehaviour.UPDATABLE, "nodes keyed by refId; compared down to each model field"),
        FieldRule("data.*.model.intervalMs", FieldBehaviour.SERVER_DEFAULT, "filled in by Grafana", default=1000),
        FieldRule("data.*.model.maxDataPoints", FieldBehaviour.SERVER_DEFAULT, "filled in by Grafana", default=43200),
        FieldRule("for", FieldBehaviour.UPDATABLE, "compared in Grafana's form (300s = 5m)", default="0s"),
        FieldRule("labels", FieldBehaviour.UPDATABLE, "empty and missing are the same"),
        FieldRule("annotations", FieldBehaviour.UPDATABLE, "reconciler_* keys are the ownership marker, never diffed"),
        FieldRule("no_data_state", FieldBehaviour.UPDATABLE, default="NoData"),
        FieldRule("exec_err_state", FieldBehaviour.UPDATABLE, default="Error"),
        FieldRule("is_paused", FieldBehaviour.UPDATABLE, default=False),
        FieldRule("notification_settings", FieldBehaviour.UPDATABLE),
        FieldRule("id", FieldBehaviour.SERVER_OWNED),
        FieldRule("updated", FieldBehaviour.SERVER_OWNED),
        FieldRule("provenance", FieldBehaviour.SERVER_OWNED, "api (locked in the UI), none (editable) or file"),
        FieldRule("orgID", FieldBehaviour.SERVER_OWNED),
    ]
)
