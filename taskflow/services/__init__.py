"""Service functions: every change to tasks goes through here, for the API and the consumer alike."""
