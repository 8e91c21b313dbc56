"""The operator command's settings, beside the shared ones (taskflow.settings)."""

from taskflow.settings import Settings


class OperatorSettings(Settings):
    """The operator command's configuration; each field is read from the environment variable of its name."""

    # No default: an operator who forgot to load the stack's settings must not create keys or redrive letters on
    # whatever PostgreSQL happens to listen on the default port.
    database_url: str

    # On AWS, for `taskflow database roles` in the migration task: each process role's secret, whose password the
    # role gets, e.g. {"taskflow_api": "arn:aws:secretsmanager:..."}.
    database_role_secret_arns: dict[str, str] = {}
