"""The service-centre channel: numbered queue tickets, display board, counters."""
