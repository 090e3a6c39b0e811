"""Settings and secrets shared by every domain of the pipeline."""
