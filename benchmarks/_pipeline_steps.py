"""The trivial 5-step pipeline the pipelines benchmark runs (importable by `falaj pipeline run`)."""

from __future__ import annotations

from falaj.pipelines import pipeline, step


@step
def first(x: int) -> int:
    return x + 1


@step
def second(x: int) -> int:
    return x * 2


@step
def third(x: int) -> int:
    return x - 3


@step
def fourth(x: int) -> int:
    return x * x


@step
def fifth(x: int) -> dict[str, int]:
    return {"result": x}


@pipeline
def five(start: int = 1) -> None:
    fifth(fourth(third(second(first(x=start)))))


@pipeline
def chain(length: int = 50) -> None:
    value = first(x=0)
    for _ in range(length - 1):
        value = first(x=value)
