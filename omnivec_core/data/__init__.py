"""Data for OmniVec: the procedural OmniShapes world (``omnivec_core.data.omnishapes``)."""
