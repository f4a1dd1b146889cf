"""The BROKER_LOGGER config resource (type 8): kbroker's Python loggers as Kafka's log4j loggers.

DescribeConfigs lists the root logger (``root``) and every logger of kbroker's packages
(``kbroker``, ``storage``, ``wire`` and their children) with its effective level in Kafka's names;
IncrementalAlterConfigs SET changes a level at runtime and DELETE sets it back to the root's (the
root's own level cannot be removed), as Kafka's logging controller does.  Levels are not persisted:
a restart goes back to the logging configuration.

Kafka's levels map onto Python's: TRACE 5, DEBUG 10, INFO 20, WARN 30, ERROR 40, FATAL 50, OFF above
every level Python logs at.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

ROOT = "root"
PACKAGES = ("kbroker", "storage", "wire")
LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
          "ERROR": logging.ERROR, "FATAL": logging.CRITICAL, "OFF": logging.CRITICAL + 50}
VALID = ",".join(LEVELS)
SET, DELETE = 0, 1
INVALID_CONFIG, INVALID_REQUEST = 40, 42


class LoggerConfigError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def kafka_level(level: int) -> str:
    for name, value in LEVELS.items():
        if level <= value:
            return name
    return "OFF"


def _logger(name: str) -> logging.Logger:
    return logging.getLogger() if name == ROOT else logging.getLogger(name)


def logger_names() -> list[str]:
    """root, then kbroker's packages' loggers (those that exist, and the packages themselves)."""
    names = set(PACKAGES)
    for name, obj in logging.Logger.manager.loggerDict.items():
        if isinstance(obj, logging.Logger) and name.split(".", 1)[0] in PACKAGES:
            names.add(name)
    return [ROOT, *sorted(names)]


def levels() -> dict[str, str]:
    return {name: kafka_level(_logger(name).getEffectiveLevel()) for name in logger_names()}


def apply(ops: Iterable[tuple[str, int, str | None]], validate_only: bool = False) -> None:
    """IncrementalAlterConfigs on this broker's loggers; every op is checked before any applies."""
    ops = list(ops)
    known = set(logger_names())
    plan: list[tuple[str, int]] = []
    for name, op, value in ops:
        if op in (SET, DELETE) and name not in known:
            raise LoggerConfigError(INVALID_CONFIG, f"Logger {name} does not exist!")
        if op == SET:
            level = (value or "").strip().upper()
            if level not in LEVELS:
                raise LoggerConfigError(INVALID_CONFIG, f"Cannot set the log level of {name} to {value} as it "
                                        f"is not a supported log level. Valid log levels are {VALID}")
        elif op == DELETE:
            if name == ROOT:
                raise LoggerConfigError(INVALID_REQUEST, "Removing the log level of the root logger is not allowed")
        else:
            kind = {2: "APPEND", 3: "SUBTRACT"}.get(op, str(op))
            raise LoggerConfigError(INVALID_REQUEST,
                                    f"{kind} operation is not allowed for the BROKER_LOGGER resource")
        plan.append((name, LEVELS[level] if op == SET else logging.getLogger().level))
    if validate_only:
        return
    for name, lvl in plan:
        _logger(name).setLevel(lvl)
