"""The end-to-end demo (``falaj demo``): the whole lifecycle on the embedded default."""

from falaj.demo.runner import DemoContext, run_demo

__all__ = ["DemoContext", "run_demo"]
