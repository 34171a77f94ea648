"""Errors that carry a message fit to show a user as it is."""


class UserError(Exception):
    """A failure the user can fix; the message names the value and the fix."""


class NotFoundError(UserError):
    """A requested record does not exist."""


class ConflictError(UserError):
    """An action does not apply to a record in its current state."""
