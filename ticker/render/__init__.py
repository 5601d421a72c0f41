"""Rendering: the snapshot that listens to the store and builds the strip once per change, and its renderings
(JSON, one line of text, an HTML fragment). Reads the store's local copy; never writes, never does I/O."""
