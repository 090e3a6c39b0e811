"""A bare FastAPI app: the framework's own speed, the baseline the metrics API is held to.

``/answer`` sends the bytes of the file ``BENCH_ANSWER`` names (the metrics API's own cached
answer, fetched once), from a plain function as the API's route is; ``/hello`` a tiny JSON.
No key, no audit, no middleware.

    BENCH_ANSWER=answer.json .venv/bin/uvicorn bench.bare_app:create_app --factory --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    body = Path(os.environ["BENCH_ANSWER"]).read_bytes()
    app = FastAPI()

    @app.get("/answer")
    def answer() -> Response:
        return Response(body, media_type="application/json")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
