"""Object types that more than one field module returns."""
