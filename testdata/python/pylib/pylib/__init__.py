"""pylib: a pure-Python library package."""
from .shapes import area

__version__ = "1.4.0"
__all__ = ["area"]
