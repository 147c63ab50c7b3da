"""Compare the settings that made a store's maps: the first field that differs, named (``primary_mask._files``)."""

from primary_mask._files import describe_difference, first_difference

__all__ = ["first_difference", "describe_difference"]
