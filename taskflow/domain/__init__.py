"""Pure domain rules: task states, errors and the queue message format. Standard library and pydantic only."""
