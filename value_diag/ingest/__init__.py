"""Bytes to fold state: files, tails, the name search, lines, parsing, folding. No Rich."""
