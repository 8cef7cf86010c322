"""contactd: omnichannel contact-centre and client-inquiry routing for public agencies."""

from importlib import metadata

try:
    __version__ = metadata.version("contactd")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
