"""The errors that bad input causes, as opposed to bugs.

The CLI turns each of these into one line on stderr and exit code 2 (`-v` adds the traceback);
any other exception is a bug and keeps its traceback (exit code 3). Kept free of heavy imports:
the API imports it too.
"""

from __future__ import annotations


class UsageError(ValueError):
    """A parameter, argument or settings value that cannot work; the message says which and why."""


class DataValidationError(ValueError):
    """Data that does not match the contract: the message names each failing column, check and rows."""


class StorageError(OSError):
    """A storage operation failed; the message says which URL, why, and where credentials come from."""
