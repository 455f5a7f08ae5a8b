"""Rules that hold wherever a record is written: validation, derived fields, roles, trail."""
