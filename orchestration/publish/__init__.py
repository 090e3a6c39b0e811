"""Publishing domain: the release gate and gold snapshots."""
