"""The error a broken cross-field rule raises, naming the field it is reported on."""


class RuleViolationError(ValueError):
    """A broken cross-field rule, naming the field it is reported on."""

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
