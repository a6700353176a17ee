"""Governance records that outlive the data they govern (the authorisation register)."""
