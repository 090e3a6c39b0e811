"""anonymization."""
