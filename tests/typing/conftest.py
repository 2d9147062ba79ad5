"""user_program.py is for mypy only (its ``reveal_type`` calls are not meant to run)."""

collect_ignore = ["user_program.py"]
