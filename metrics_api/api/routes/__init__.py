"""One router per resource: metrics, releases, health."""
