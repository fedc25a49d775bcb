"""Webhooks: subscriptions to CVAT's events, signed deliveries with retries, redelivery, ping."""
