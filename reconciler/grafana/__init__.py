"""Grafana-managed alerting: folders, rule groups and their rules, as one package split by job.

Pure modules (no I/O; the planner and the kinds use only these):
  spec_model    the YAML spec models, durations, thresholds, rule uids, per-rule checks
  rule_form     the one comparable form rules are diffed in, and the API shapes it maps to
  facts         the typed facts providers read beside live state (rules, alert counts, versions)
  ownership     the annotations that record on Grafana's side which rules are reconciler's
  field_tables  per-field behaviour of the three kinds (data)
  kinds         the kinds GrafanaFolder, GrafanaRuleGroup, GrafanaAlertRule (planning hooks)
  write_steps   the API calls apply makes for each planned operation (per-rule endpoints;
                a whole-group write only for an interval, with every rule it rewrites)
  notification_model, notification_kinds
                contact points, notification policies, mute timings, templates: specs and kinds
  provisioning_file  Grafana's file-provisioning / export YAML, read as rule groups
I/O modules (talk to Grafana; may import the pure ones, never the other way round):
  client           the HTTP client (grafana-client underneath), errors with status and body
  snapshot         the target's Grafana for one run: connection, the run's one read, writes
  providers        the three alerting providers
  notification_providers  the notification objects' providers and their ledger
  ledger_guard     the guard that lets one writer create the notification ledger
  spec_generation  `reconciler import --generate-specs` from live Grafana or an export file
"""
