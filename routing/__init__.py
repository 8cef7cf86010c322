"""The pure core of contactd: domain records, queues, calendars and decisions. No I/O."""
