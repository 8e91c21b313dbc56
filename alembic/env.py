"""Alembic environment: the database URL comes from the same Settings every process uses."""

from logging.config import fileConfig

from sqlalchemy import create_engine, pool

from alembic import context
from taskflow.db.engine import sqlalchemy_url
from taskflow.db.models import Base
from taskflow.settings import get_settings

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations() -> None:
    engine = create_engine(sqlalchemy_url(get_settings().database_url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
