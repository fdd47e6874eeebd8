"""Errors raised for user mistakes: each names the file, the variable, what was expected and found.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HydroInterpError(Exception):
    """Base class of every error caused by the user's input or settings."""


class DataError(HydroInterpError, ValueError):
    """Input data that does not meet the data model.

    Parameters
    ----------
    problem
        One sentence saying what is wrong.
    source
        The file (or ``"<memory>"``) the data came from.
    variable
        The variable or coordinate at fault.
    expected, found
        What the data model expects and what the data has.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | None = None,
        variable: str | None = None,
        expected: object = None,
        found: object = None,
    ) -> None:
        self.problem = problem
        self.source = source
        self.variable = variable
        self.expected = expected
        self.found = found
        parts = [problem]
        if source is not None:
            parts.append(f"file: {source}")
        if variable is not None:
            parts.append(f"variable: {variable}")
        if expected is not None:
            parts.append(f"expected: {expected}")
        if found is not None:
            parts.append(f"found: {found}")
        super().__init__("; ".join(parts))

    def with_source(self, source: str) -> DataError:
        """A copy naming ``source`` where this error names no file (or ``"<memory>"``)."""
        named = self.source not in (None, "<memory>")
        return DataError(
            self.problem,
            source=self.source if named else source,
            variable=self.variable,
            expected=self.expected,
            found=self.found,
        )


class ModelFormatError(HydroInterpError, ValueError):
    """A model file that this toolkit cannot represent or that lacks weights."""


class ConfigError(HydroInterpError, ValueError):
    """A configuration file or setting that is invalid."""


class WriteError(HydroInterpError, OSError):
    """An output that could not be written (disk full, read-only or forbidden folder).

    Raised by :mod:`hydrointerp.atomic`; the target is left as it was and no partial file stays.
    """
