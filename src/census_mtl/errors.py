"""The base of every expected error: bad input, a missing file, a wrong setting.

Its message names what is wrong and what to do; the command line prints it as one message,
without a traceback (``census_mtl.cli``).
"""


class ProjectError(Exception):
    """An expected condition, explained by its message."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
