"""One run's bundle: everything an agent needs, offline, and what comes back from it.

``prepare`` resolves the slot and gathers the inputs through the redactor; ``prompt`` fits them
to the token budget; ``store`` writes and verifies the bundle on disk; ``memory`` and
``metrics`` are what an agent remembers and how its runs went; ``result`` records a finished
run (``complete``); ``events`` makes and delivers the CloudEvents. Stands on agents, manifest,
redact and the ground floor.
"""
