"""The commands: one small module per verb, each a ``run`` (or ``run_<verb>``) function that
takes plain keyword arguments and returns an exit code.

A command never sees argparse. Its keywords are exactly the ones its row in the parser table
(``kaizen_agentic.cli``) declares, so an option is declared once, there, and used once, here;
``tests/test_cli_table.py`` checks that every row and its command agree.
"""
