"""The workspace's pages: one module per area (contacts, accounts, leads, identity review, opportunities,
dashboard), the home redirect and the login view."""
