"""The privacy officer's toolkit: what is configured and true now (report), whether
every output keeps the privacy model (audit), what is past its retention
(retention) and the customer-facing notice (notice). The CLI and the dashboard are
thin faces over these modules."""
