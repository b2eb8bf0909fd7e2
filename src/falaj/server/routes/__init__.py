"""The REST resources under ``/api/v1``, one module per area."""
