"""The phone channel: Twilio voice webhooks, IVR, live queue and callbacks."""
