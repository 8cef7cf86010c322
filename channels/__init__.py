"""Adapters between contactd and the outside world: phone (Twilio) and e-mail (IMAP, SMTP).

Channels import `routing` and the ports they need, never `contactd`.
"""
