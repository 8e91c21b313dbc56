"""The operator's command, `taskflow` (or `python -m cli` where the project is not installed, as in the images):
API keys, every tenant's dead letters, the database roles' passwords. Built with Click; `taskflow --help`."""
