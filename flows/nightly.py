"""Deployment entry point (prefect.yaml): nightly P2E duplicate detection."""
from almaclean.orchestration.flows import nightly_flow

__all__ = ["nightly_flow"]
