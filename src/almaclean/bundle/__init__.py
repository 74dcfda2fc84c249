"""Reproducible audit bundles: a run folder + bundle.json, and the checks `verify` makes."""
from almaclean.bundle.manifest import BUNDLE_FILE, INPUTS_FOLDER, read_bundle, write_bundle
from almaclean.bundle.verify import VerifyResult

__all__ = ["BUNDLE_FILE", "INPUTS_FOLDER", "VerifyResult", "read_bundle", "write_bundle"]
