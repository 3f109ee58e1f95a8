"""databricks-sdk failures as one clear ReconcilerError instead of a traceback.

Shared by every provider that talks to a workspace (lakehouse monitors, the SQL-warehouse policy
store) so a wrong token, an unreachable host or a refused call reads the same whichever kind hit
it. Everything the SDK raises for a failed call is an OSError: its API errors (`DatabricksError`
is an IOError), requests' connection errors, and the TimeoutError its retries end in. Anything
else (a ValueError from our own code, say) is a bug and keeps its traceback.

The SDK masks credentials in its messages (`Config.debug_string` prints `token=***`); the token,
when given, is masked here again so no future SDK message can leak it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.errors import ReconcilerError

MASK = "***"


@contextmanager
def live_errors(what: str, secret: str | None = None) -> Iterator[None]:
    """Re-raise the SDK's failures inside the block as `ReconcilerError("<what> failed: ...")`.

    `what` names the operation (and, where the caller knows it, the host); `secret` is masked
    out of the message should it ever appear.
    """
    try:
        yield
    except ReconcilerError:
        raise
    except OSError as exc:
        message = f"{what} failed: {type(exc).__name__}: {exc}"
        if isinstance(exc, TimeoutError) and exc.__cause__ is not None:
            # The SDK's retries end in "Timed out after ..."; the cause says why (refused, DNS...).
            message += f" (last error: {type(exc.__cause__).__name__}: {exc.__cause__})"
        if secret:
            message = message.replace(secret, MASK)
        raise ReconcilerError(message) from exc
