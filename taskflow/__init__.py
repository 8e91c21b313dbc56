"""The shared domain package: what the API and the Lambda consumer both need, and nothing HTTP- or Lambda-specific."""
