"""Data-subject requests (erasure, restriction) carried out at the start of every run."""
