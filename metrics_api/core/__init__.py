"""Settings of the metrics API."""
