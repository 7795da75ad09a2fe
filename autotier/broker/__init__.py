"""The broker: the background thread that compiles and installs hot functions."""

from autotier.broker.broker import Broker, Job

__all__ = ["Broker", "Job"]
