"""What Scriptix speaks today: transport, TUS uploads, the client and its models."""

from compat.v3 import models
from compat.v3.client import V3Client
from compat.v3.models import *  # noqa: F403 - the typed answers are public as they are

__all__ = ["V3Client", *models.__all__]
