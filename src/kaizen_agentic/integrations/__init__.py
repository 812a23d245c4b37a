"""Adapters for orchestrators. Each needs an optional extra; nothing here is imported by the CLI."""
