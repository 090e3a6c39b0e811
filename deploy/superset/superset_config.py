"""Superset configuration of the production stack: every secret from the environment."""

import os

SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
SQLALCHEMY_DATABASE_URI = os.environ["SUPERSET_METADATA_URI"]
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True, "DASHBOARD_CROSS_FILTERS": True}
# Charts must follow the newest published data; marts are small, so no result cache.
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
