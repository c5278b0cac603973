"""The one renderer: figures (explorer.figures) drawn with pyqtgraph on screen and into files."""
