"""The store: the Mirror port (port.py), SqlStore over SQLAlchemy tables and Alembic
migrations (repositories.py, sql_mirror.py), and the in-memory fake (memory.py).

Nothing is imported here, so that code needing only the port loads no database driver."""
