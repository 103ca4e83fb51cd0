"""The interactive terminal: keys read from the tty, the live screen and its job control,
the table view moved through with keys, and the one table of those keys (bindings.py).

render/ draws frames and knows no terminal; this package is what talks to one.
"""
