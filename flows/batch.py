"""Deployment entry point (prefect.yaml): batch clean-up of a folder tree."""
from almaclean.orchestration.flows import batch_flow

__all__ = ["batch_flow"]
