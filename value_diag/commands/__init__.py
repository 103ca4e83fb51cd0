"""once, watch and demo: the only layer that reads files and draws frames."""
