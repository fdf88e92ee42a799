"""Demand and market simulation built on the allocator (never imported by it)."""
