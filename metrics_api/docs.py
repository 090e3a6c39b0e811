"""The API's interactive documentation (Swagger UI), served by the API itself.

FastAPI's default page loads Swagger UI's JavaScript and CSS from a CDN. On a ministry network
without internet access, or behind a proxy that blocks the CDN, the page is then blank. Here
the same files come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads the
OpenAPI 3.1 document FastAPI writes), under ``/docs/static``. ReDoc, which has no packaged
copy, is not offered.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["DOCS_URL", "install_docs"]

DOCS_URL = "/docs"
STATIC = f"{DOCS_URL}/static"


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Serve Swagger UI at ``/docs`` from local files (create the app with ``docs_url=None``)."""
    app.mount(STATIC, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui")

    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — documentation",
            swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{STATIC}/favicon-32x32.png",
        )

    app.add_api_route(DOCS_URL, docs, include_in_schema=False, response_class=HTMLResponse)
