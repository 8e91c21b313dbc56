"""The operator command's settings, beside the shared ones (taskflow.settings)."""

from taskflow.settings import Settings


class OperatorSettings(Settings):
    """The operator command's configuration; each field is read from the environment variable of its name."""

    # On AWS, for `taskflow database roles` in the migration task: each process role's secret, whose password the
    # role gets, e.g. {"taskflow_api": "arn:aws:secretsmanager:..."}.
    database_role_secret_arns: dict[str, str] = {}

