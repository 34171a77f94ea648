"""Donor import from CRM exports: reading, layouts, value parsing and the service.

The public API is re-exported by `commjobs_tui.core.importer`.
"""
