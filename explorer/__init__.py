"""Sequence Model Explorer: train small sequence models live and see why they behave as the textbook says."""

__version__ = "0.1.0"
APP_NAME = "Sequence Model Explorer"
