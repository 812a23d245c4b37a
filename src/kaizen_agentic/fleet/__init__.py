"""The fleet: which repositories take part, where they are checked out, and what is due.

``roster`` reads records from the state hub (``hub``), a file or a folder scan; ``discovery``
gives every record one state and a reason (``discover_kaizen_scheduled_repos``); ``due`` lists
the (repository, agent, slot) runs due in a tick's window and prepares them in parallel
(``due_jobs``, ``prepare_due``). Stands on bundle, manifest and the ground floor.
"""
