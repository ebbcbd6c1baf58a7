"""The prediction API.

Run it with `make serve` (or the `serve` CLI command); HOST and PORT choose where it listens.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..config import Settings
from ..features import FEATURES
from .batcher import MicroBatcher
from .limits import BodySizeLimitMiddleware
from .metrics import ApiMetrics, MetricsMiddleware
from .model import LoadedModel, ModelNotAvailableError, load_model
from .schemas import Health, PredictRequest, PredictResponse, Ready

log = logging.getLogger(__name__)


class ServingState:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = ApiMetrics()
        self.model: LoadedModel | None = None
        self.load_error: str | None = None
        self.batcher: MicroBatcher | None = None

    def _predict(self, rows: np.ndarray) -> list[str]:
        assert self.model is not None
        try:
            return self.model.predict(rows)
        except Exception:
            self.metrics.prediction_errors.inc()
            raise

    async def start(self) -> None:
        try:
            self.model = load_model(self.settings.model_dir)
        except ModelNotAvailableError as exc:
            self.load_error = str(exc)
            log.error("model not loaded: %s", exc)
            return
        self.batcher = MicroBatcher(
            self._predict, self.settings.max_batch_rows, self.metrics.batch_size.observe
        )
        await self.batcher.start()
        self.metrics.model_info.labels(version=self.model.version).set(1)
        self.metrics.model_ready.set(1)
        log.info("serving model %s", self.model.version)

    async def stop(self) -> None:
        self.metrics.model_ready.set(0)
        if self.batcher is not None:
            await self.batcher.stop()


def _state(request: Request) -> ServingState:
    state: ServingState = request.app.state.serving
    return state


StateDep = Annotated[ServingState, Depends(_state)]


def create_app(settings: Settings | None = None) -> FastAPI:
    serving = ServingState(settings or Settings())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await serving.start()
        yield
        await serving.stop()

    app = FastAPI(
        title="Prediction API",
        summary="Predicts the iris species from four measurements.",
        lifespan=lifespan,
    )
    app.state.serving = serving

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Name the field and the problem, but never echo the input back: it may be huge, or hold
        # values (NaN, Infinity) that JSON cannot encode.
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        """The process is up (liveness)."""
        return Health(status="ok")

    @app.get("/ready", response_model=Ready, tags=["ops"], responses={503: {"model": Ready}})
    async def ready(state: StateDep, response: Response) -> Ready:
        """A model is loaded and warmed up (readiness)."""
        if state.model is None:
            response.status_code = 503
            return Ready(status="not ready", detail=state.load_error)
        return Ready(status="ready", model_version=state.model.version)

    @app.post("/predict", response_model=PredictResponse, tags=["model"])
    async def predict(payload: PredictRequest, state: StateDep) -> PredictResponse:
        """Predict one label per instance (send one instance or a batch of up to 1000)."""
        if state.model is None or state.batcher is None:
            raise HTTPException(status_code=503, detail=f"model not loaded: {state.load_error}")
        rows = np.array(
            [[getattr(instance, name) for name in FEATURES] for instance in payload.instances],
            dtype=np.float64,
        )
        labels = await state.batcher.predict(rows)
        state.metrics.record_predictions(labels)
        return PredictResponse(predictions=labels, model_version=state.model.version)

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics(state: StateDep) -> Response:
        """Prometheus metrics in the text exposition format."""
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # The last middleware added runs first: metrics see every request, the 413s of the limit included.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=serving.settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=serving.metrics, routes=app.router.routes)
    return app


app = create_app()
