"""Events: the outbox API of the use cases, webhook delivery and CloudEvents."""
