"""almaclean: clean up Ex Libris Alma electronic inventory."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("almaclean")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+unknown"
