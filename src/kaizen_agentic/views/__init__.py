"""Views: the fleet as people read it.

``timetable`` and ``calendar_html`` show when runs happen (an hour-of-week heatmap, the busiest
hours, a spread advisory); ``report`` and ``report_html`` show how they went (runs, missed
slots, tokens, memory pressure, who needs attention first, OpenMetrics) from each agent's
records of the period, which ``period`` finds wherever they stand in its file. Stands on fleet,
bundle, manifest and the ground floor.
"""
