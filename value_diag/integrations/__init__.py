"""Ready-made hooks for training libraries; each module imports its library only when used."""
