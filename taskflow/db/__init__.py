"""Database access: SQLAlchemy models, the engine and sessions."""
