"""The HTTP layer: routes, dependencies, errors and pagination."""
