"""Stand-in for google.colab while a notebook is graded outside Colab: mounting Drive is a no-op."""
from . import drive, files, output  # noqa: F401
