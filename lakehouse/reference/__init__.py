"""Reference data, declared once: regions, the NIK/KK structure, audiences, services.

dbt receives what it needs of it as seeds written from these modules
(:mod:`lakehouse.reference.seeds`); a test fails when a committed seed no longer matches.
"""
