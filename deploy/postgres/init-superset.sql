-- The metadata database of Superset, beside Dagster's (POSTGRES_DB).
CREATE DATABASE superset OWNER merajut;
