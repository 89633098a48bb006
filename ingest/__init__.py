"""File-format parsers that turn what a user gives SecondMe into plain items.

This package knows nothing of SecondMe's database or models: it only parses.
"""

from ingest.items import Item, ParseError

__all__ = ["Item", "ParseError"]
