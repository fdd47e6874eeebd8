"""Data sources turned into the project's data model (RegionData)."""
