"""User-facing errors: the CLI prints their message on one line and exits non-zero, never a traceback."""


class UserError(Exception):
    """A mistake the user can fix (bad experiment name, config key, value type, data path...).

    The message must be one line and name the valid choices where there are any.
    """


def did_you_mean(word: str, choices) -> str:
    """' (did you mean X?)' when a close match exists, else ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class SplitNotFound(UserError):
    """A data split that does not exist anywhere it was looked for (as opposed to one that exists but is broken:
    that is a plain UserError and must reach the user, never be taken for "no test split")."""
