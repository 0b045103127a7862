"""The GraphQL API at `{PU_APP_PREFIX}/graphql` (docs/graphql.md): the reference's schema on
the same service layer and permission checks as REST."""

from control_plane.graphql.router import install_graphql

__all__ = ["install_graphql"]
