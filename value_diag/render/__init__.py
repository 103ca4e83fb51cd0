"""Frames to the world: terminals, text, JSON, GitHub, markdown, comparisons, exports."""
