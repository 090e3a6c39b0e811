"""Source ingestion domain: bronze assets and the drop sensor."""
