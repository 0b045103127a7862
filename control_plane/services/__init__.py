"""Business rules of the control plane, one module or package per resource; the API routes
call them with a SQLAlchemy session."""
