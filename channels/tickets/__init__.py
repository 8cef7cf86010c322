"""The service centre: numbered queue tickets, the waiting-room board, the public status."""
