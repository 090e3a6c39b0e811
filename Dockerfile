# The lakehouse image: Dagster code location, webserver and daemon all run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH DAGSTER_HOME=/opt/dagster/home

WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
COPY pyproject.toml uv.lock README.md ./
COPY dbt_project/adapter dbt_project/adapter
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev \
    && dbt parse --project-dir dbt_project --profiles-dir dbt_project \
    && mkdir -p $DAGSTER_HOME && cp deploy/dagster.yaml $DAGSTER_HOME/dagster.yaml

RUN useradd --system --uid 10001 merajut && chown -R merajut /app $DAGSTER_HOME
USER merajut
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "orchestration.definitions"]
