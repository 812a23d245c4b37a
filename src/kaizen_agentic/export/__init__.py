"""Exports: the fleet's schedule as the engine that runs it takes it.

``common`` holds what every format shares; ``temporal`` writes Temporal schedules (the tick,
or one per agent, with ``temporal_calendar``, a model of how the server matches calendar specs);
``cron`` writes Kubernetes CronJobs and crontab lines. Stands on manifest and the ground floor.
"""
