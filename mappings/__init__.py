"""Field and value mapping files, shipped as package data."""
