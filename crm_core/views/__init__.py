"""Pages of the web UI for CRM records: one module per area (contacts, accounts, leads, dashboard)."""
