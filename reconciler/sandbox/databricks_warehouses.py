"""Emulator of the SQL warehouses API (`/api/2.0/sql/warehouses`, read side).

Follows databricks-sdk **0.162.0** `w.warehouses` (`databricks/sdk/service/sql.py`,
`WarehousesAPI`): `list(page_size, page_token)` -> `ListWarehousesResponse` {warehouses:
[EndpointInfo], next_page_token}, `get(id)` -> `GetWarehouseResponse`,
`get_workspace_warehouse_config()` -> `GetWorkspaceWarehouseConfigResponse`,
`get_permissions(id)` -> `WarehousePermissions`, `get_permission_levels(id)` ->
`GetWarehousePermissionLevelsResponse`, `list_default_warehouse_overrides()` /
`get_default_warehouse_override(name)` (`/api/warehouses/v1/...`).

Why: people exploring the sandbox with the SDK or the Databricks CLI start with
`warehouses list`, and SLA policies name warehouse ids; the statement emulator runs statements
for any warehouse id, so these warehouses are what the sandbox says exists, not a gate.
Warehouses come from the seed file's `warehouses:` list (`{id, name}`; `cluster_size`,
`warehouse_type` optional), all RUNNING and serverless. Writes (create/edit/start/stop/delete) are
not emulated: they answer the service's 501 NOT_IMPLEMENTED shape so a client fails clearly.

Errors: an unknown id is 404 `RESOURCE_DOES_NOT_EXIST`, "Unable to find SQL warehouse with id
'<id>'."; a bad page size is 400 `INVALID_PARAMETER_VALUE`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

from . import dbx_http
from .databricks_catalog import OWNER
from .dbx_http import fail
from .settings import SandboxSettings
from .state import SandboxState

DEFAULT_PAGE_SIZE = 100
DEFAULT_WAREHOUSES = [{"id": "sandbox0warehouse", "name": "Sandbox SQL warehouse"}]


def _warehouses(seed: dict[str, Any]) -> list[dict[str, Any]]:
    return list(seed.get("warehouses") or DEFAULT_WAREHOUSES)


def endpoint_info(host: str, item: dict[str, Any]) -> dict[str, Any]:
    """EndpointInfo / GetWarehouseResponse of a seeded warehouse."""
    warehouse_id = str(item["id"])
    path = f"/sql/1.0/warehouses/{warehouse_id}"
    hostname = host.split("://", 1)[-1]
    return {
        "id": warehouse_id,
        "name": item.get("name") or warehouse_id,
        "cluster_size": item.get("cluster_size", "2X-Small"),
        "auto_stop_mins": 10,
        "min_num_clusters": 1,
        "max_num_clusters": 1,
        "num_clusters": 1,
        "num_active_sessions": 0,
        "creator_name": OWNER,
        "enable_photon": True,
        "enable_serverless_compute": True,
        "warehouse_type": item.get("warehouse_type", "PRO"),
        "spot_instance_policy": "COST_OPTIMIZED",
        "state": "RUNNING",
        "channel": {"name": "CHANNEL_NAME_CURRENT"},
        "health": {"status": "HEALTHY"},
        "tags": {},
        "jdbc_url": f"jdbc:databricks://{hostname}:443/default;transportMode=http;ssl=1;httpPath={path};",
        "odbc_params": {"hostname": hostname, "path": path, "port": 443, "protocol": "https"},
    }


def register(app: Flask, state: SandboxState, settings: SandboxSettings) -> None:
    dbx_http.install(app, settings, ("/api/2.0/sql/warehouses", "/api/2.0/sql/config/", "/api/warehouses/"))
    seeded = _warehouses(settings.seed_document())
    page_size = int(settings.extra.get("warehouse_page_size", DEFAULT_PAGE_SIZE))  # type: ignore[call-overload]

    def find(warehouse_id: str) -> dict[str, Any]:
        for item in seeded:
            if str(item["id"]) == warehouse_id:
                return endpoint_info(request.host_url.rstrip("/"), item)
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Unable to find SQL warehouse with id '{warehouse_id}'.")

    @app.get("/api/2.0/sql/warehouses")
    def warehouses_list():  # type: ignore[no-untyped-def]
        items = [endpoint_info(request.host_url.rstrip("/"), w) for w in seeded]
        page = dbx_http.paginate(items, dbx_http.int_arg("page_size"), request.args.get("page_token"), page_size)
        return dbx_http.listing("warehouses", items, page)

    @app.get("/api/2.0/sql/warehouses/<warehouse_id>")
    def warehouses_get(warehouse_id: str):  # type: ignore[no-untyped-def]
        return jsonify(find(warehouse_id))

    @app.get("/api/2.0/sql/config/warehouses")
    def warehouses_workspace_config():  # type: ignore[no-untyped-def]
        return jsonify(
            {
                "enable_serverless_compute": True,
                "security_policy": "DATA_ACCESS_CONTROL",
                "enabled_warehouse_types": [
                    {"warehouse_type": "PRO", "enabled": True},
                    {"warehouse_type": "CLASSIC", "enabled": True},
                ],
                "channel": {"name": "CHANNEL_NAME_CURRENT"},
            }
        )

    @app.get("/api/2.0/permissions/warehouses/<warehouse_id>")
    def warehouses_permissions(warehouse_id: str):  # type: ignore[no-untyped-def]
        find(warehouse_id)
        return jsonify(
            {
                "object_id": f"/sql/warehouses/{warehouse_id}",
                "object_type": "warehouses",
                "access_control_list": [
                    {
                        "user_name": OWNER,
                        "all_permissions": [{"permission_level": "IS_OWNER", "inherited": False}],
                    }
                ],
            }
        )

    @app.get("/api/2.0/permissions/warehouses/<warehouse_id>/permissionLevels")
    def warehouses_permission_levels(warehouse_id: str):  # type: ignore[no-untyped-def]
        find(warehouse_id)
        levels = ["CAN_USE", "CAN_MONITOR", "CAN_MANAGE", "CAN_VIEW", "IS_OWNER"]
        return jsonify({"permission_levels": [{"permission_level": level} for level in levels]})

    @app.get("/api/warehouses/v1/default-warehouse-overrides")
    def warehouses_default_overrides():  # type: ignore[no-untyped-def]
        return jsonify({})

    @app.get("/api/warehouses/v1/<path:name>")
    def warehouses_default_override(name: str):  # type: ignore[no-untyped-def]
        fail(404, "RESOURCE_DOES_NOT_EXIST", f"Default warehouse override '{name}' does not exist.")

    @app.route("/api/2.0/sql/warehouses", methods=["POST"])
    @app.route("/api/2.0/sql/warehouses/<warehouse_id>", methods=["DELETE"])
    @app.route("/api/2.0/sql/warehouses/<warehouse_id>/<action>", methods=["POST"])
    def warehouses_write(warehouse_id: str = "", action: str = ""):  # type: ignore[no-untyped-def]
        fail(501, "NOT_IMPLEMENTED", "The sandbox does not create, edit, start, stop or delete SQL warehouses.")
