"""Alembic environment: the database URL and login come from the same Settings every process uses (on AWS, the
master user's secret: the migration is the only process that logs in as the owner of the tables)."""

from logging.config import fileConfig

from sqlalchemy import create_engine, pool

from alembic import context
from taskflow.db.engine import sqlalchemy_url
from taskflow.db.login import process_login
from taskflow.db.models import Base
from taskflow.settings import get_settings

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations() -> None:
    engine = create_engine(sqlalchemy_url(get_settings().database_url), poolclass=pool.NullPool)
    process_login().attach(engine)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
