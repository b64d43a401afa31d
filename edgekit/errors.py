"""User-facing errors.

Every error a user can cause (a bad file, column, flag or recipe value) is raised as an
`EdgekitError` whose message names what is wrong and what was expected. The CLI prints these
as one line; anything else is a bug and keeps its traceback.
"""


class EdgekitError(Exception):
    """A mistake in user input, reported in one actionable line."""


class DataError(EdgekitError):
    """A dataset file, column, dtype or value is not what the loader expects."""


class SpecError(EdgekitError):
    """A FeatureSpec is inconsistent or asks for inputs the data does not have."""
