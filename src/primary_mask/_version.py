"""The package version, in a module of its own so that submodules read it without importing the package root."""

__version__ = "0.3.0"
