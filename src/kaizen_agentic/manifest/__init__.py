"""The manifest: a repository's ``.kaizen/schedule.yml``, read strictly and checked whole.

``yamlsafe`` reads YAML 1.2 with every node's place; ``spec`` is the schema engine that
validates, fills defaults, documents and generates the JSON Schema; ``schedule`` is the
manifest's schema and loader (``load_manifest``, ``parse_manifest``); ``cadence`` turns a
schedule into run times (``next_runs``, DST-correct); ``cache`` remembers validated manifests
by content. Stands on the ground floor only.
"""
