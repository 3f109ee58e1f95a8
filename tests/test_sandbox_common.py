import logging

from databricks.sdk import WorkspaceClient


def test_sdk_client_construction_is_quiet(sandbox, caplog):
    with caplog.at_level(logging.WARNING):
        WorkspaceClient(host=sandbox.url, token="dapi-test")
    assert not [r for r in caplog.records if "host metadata" in r.getMessage()]
