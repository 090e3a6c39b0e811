"""The metrics REST API: aggregate statistics from published gold, per audience, audited."""
