"""What the orchestration domains share: the resource, asset keys, the pool, the dbt project,
the pipeline job. Domains import this package and never each other."""
