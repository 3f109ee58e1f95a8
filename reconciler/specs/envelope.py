"""The document envelope every spec shares: apiVersion, kind, metadata, spec, lifecycle."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "reconciler/v1"

SpecT = TypeVar("SpecT", bound=BaseModel)


class Lifecycle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prevent_destroy: bool = Field(
        default=False,
        description="Refuse any plan that would delete or replace (destroy and recreate) this object.",
    )


class Metadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=190, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    labels: dict[str, str] = Field(default_factory=dict)


class KindSpec(BaseModel):
    """Base of every kind's `spec:` block: what all kinds share."""

    model_config = ConfigDict(extra="forbid")

    lifecycle: Lifecycle = Field(default_factory=Lifecycle)


class Envelope(BaseModel, Generic[SpecT]):
    """A full spec document; `kind` is pinned per kind when the model is built."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: Literal["reconciler/v1"]
    kind: str
    metadata: Metadata
    spec: SpecT
