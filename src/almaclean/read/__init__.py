"""Readers: decide a file's format by content and read it as a lossless text table."""
from almaclean.read.detect import Detected, detect
from almaclean.read.table import TextTable, check_text_columns, excel_letter, read_table

__all__ = ["Detected", "TextTable", "check_text_columns", "detect", "excel_letter", "read_table"]
