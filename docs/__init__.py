"""Documentation helpers: the script that draws the README's picture."""
