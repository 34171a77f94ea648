"""commjobs: draft personal donor emails as communication jobs."""

__version__ = "0.1.0"
