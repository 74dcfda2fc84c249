"""Realistic sample exports (built on real KBART titles) with their ground truth."""
from almaclean.sample.realdata import realdata_dir

__all__ = ["realdata_dir"]
