"""The MaskSem objective (paper §III-C to §III-E), one named function per equation.

The package imports nothing itself, so that ``pretraining.config`` (plain dataclasses, read by
``masksem_core.config``) loads without torch; import the objective from its modules."""
