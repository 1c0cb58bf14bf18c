"""The one error type every loader and validator raises for bad input."""


class CubeError(ValueError):
    """Input that cannot be turned into a cube, with a message meant for the user.

    The message says what is wrong and what to do about it; pages show it as is.
    """


class SeveralCubes(CubeError):
    """The file (or the files uploaded together) hold several cubes and none was chosen.

    Attributes
    ----------
    choices : tuple of str
        What to pass as ``dataset`` to open each: array names in a container, or header names.
    """

    def __init__(self, message: str, choices: tuple[str, ...] | list[str]) -> None:
        super().__init__(message)
        self.choices = tuple(choices)

    def __reduce__(self):  # raised in a conversion child, re-raised by its parent
        return type(self), (str(self), self.choices)
