"""Raw Census-Income data: its format, the verified fetch and the synthetic generator."""
