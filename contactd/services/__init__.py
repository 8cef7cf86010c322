"""The use cases: what the daemon does for a client or a member of staff, over the store."""
