"""The domain both faces share: models and services for orders, payments, dunning, outbox, audit."""
