"""Research release domain: k-anonymous, l-diverse record-level extracts."""
