"""The migration toolkit: warnings at legacy call sites, the usage report, strict mode, scan."""
