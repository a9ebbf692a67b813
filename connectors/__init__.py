"""Vendor connector plugins shipped with deskbridge (one sub-package per vendor)."""
