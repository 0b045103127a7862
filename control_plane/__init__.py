"""The control plane: the FastAPI service that manages users, repos, units, envs,
archives and permissions."""
