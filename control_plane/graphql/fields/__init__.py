"""The root fields, one module per resource: each holds a `Query` and/or a `Mutation` class
that `control_plane.graphql.schema` merges into the root types."""
