"""Load domain: bronze batches into the warehouse's raw schema."""
