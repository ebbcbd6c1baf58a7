"""Request and response schemas of the API: the types that /docs and /openapi.json publish."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..features import FEATURE_MAX, FEATURE_MIN

MAX_INSTANCES = 1000


class Instance(BaseModel):
    """One flower's measurements in centimetres: the fields are features.FEATURES."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=False)

    sepal_length: float = Field(ge=FEATURE_MIN, le=FEATURE_MAX, examples=[5.1])
    sepal_width: float = Field(ge=FEATURE_MIN, le=FEATURE_MAX, examples=[3.5])
    petal_length: float = Field(ge=FEATURE_MIN, le=FEATURE_MAX, examples=[1.4])
    petal_width: float = Field(ge=FEATURE_MIN, le=FEATURE_MAX, examples=[0.2])


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instances: list[Instance] = Field(min_length=1, max_length=MAX_INSTANCES)


class PredictResponse(BaseModel):
    predictions: list[str]
    model_version: str


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model_version: str | None = None
    detail: str | None = None
