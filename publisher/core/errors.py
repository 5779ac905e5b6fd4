"""The small exception tree; the CLI alone turns these into messages and exit codes."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Exit codes promised to scripts (DESIGN §3); 2 wins over 1."""

    OK = 0
    DELIVERY_FAILED = 1
    BAD_INPUT = 2


class PublisherError(Exception):
    """An error a user can act on: a message plus a hint on how to fix it."""

    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(PublisherError):
    """The config file is missing, unreadable or has a bad key."""


class PostError(PublisherError):
    """A post file cannot be used; names the file and, where known, the line."""

    def __init__(self, path: str, message: str, hint: str = "", line: int | None = None) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}", hint)
        self.path = path
        self.line = line
        self.reason = message


class UsageError(PublisherError):
    """The command line asks for something that cannot be done."""


class TokenMissing(PublisherError):
    """A channel's token environment variable is unset, so that channel must wait."""

    def __init__(self, channel: str, env: str) -> None:
        super().__init__(
            f"channel {channel!r}: the environment variable {env} is not set",
            f"export {env}=... with the channel's access token (README: the channel's token section)",
        )
        self.channel = channel
        self.env = env


class LedgerError(PublisherError):
    """The ledger cannot be opened, is locked, or a delivery is not in the state asked for."""


class ChannelError(Exception):
    """A send did not succeed; says whether a retry may help and whether the post may exist.

    ``uncertain`` means the request may have created the post (timeout, 5xx after sending):
    the runner reconciles through ``Channel.find`` before any retry.  ``retry`` means a later
    attempt may succeed (throttling, transient errors); ``retry_after`` is the service's hint
    in seconds.  ``duplicate_of`` names the remote post a duplicate error points at, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        retry: bool = False,
        uncertain: bool = False,
        retry_after: float | None = None,
        duplicate: bool = False,
        duplicate_of: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.retry = retry
        self.uncertain = uncertain
        self.retry_after = retry_after
        self.duplicate = duplicate
        self.duplicate_of = duplicate_of
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
