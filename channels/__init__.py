"""Adapters between contactd and the outside world: phone (Twilio), e-mail, tickets.

Channels import `routing` and the ports they need, never `contactd`.
"""
