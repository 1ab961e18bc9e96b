"""Errors with the exit codes shared with the TypeScript CLI (src/core/errors.ts)."""


class DatasetError(Exception):
    """Bad training data or arguments: exit code 2, raised before any training starts."""

    exit_code = 2
