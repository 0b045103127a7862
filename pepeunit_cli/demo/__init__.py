"""`pepeunit demo`: the platform and a small living system of example units."""

from pepeunit_cli.demo.command import demo

__all__ = ["demo"]
