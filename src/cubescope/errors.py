"""The one error type every loader and validator raises for bad input."""


class CubeError(ValueError):
    """Input that cannot be turned into a cube, with a message meant for the user.

    The message says what is wrong and what to do about it; pages show it as is.
    """
