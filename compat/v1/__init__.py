"""What legacy callers see: the V1 JSON models and the V1 input rules."""
