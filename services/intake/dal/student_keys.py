"""Keyed hashes of students for the duplicate check: KMS ``GenerateMac`` (HMAC-SHA-256) with the topology's
``student-key`` (the key never leaves KMS, so nobody with the table but without ``kms:GenerateMac`` can test
a guessed name and birth date against the stored hashes)."""

from __future__ import annotations

import base64

from common import aws, settings
from contracts.topology import STUDENT_KEY

ALGORITHM = "HMAC_SHA_256"


def student_key(material: bytes) -> str:
    """The keyed hash of ``material`` (``logic.duplicates.student_material``), URL-safe base64."""
    mac = aws.client("kms").generate_mac(
        KeyId=settings.mac_key_id(STUDENT_KEY.name), MacAlgorithm=ALGORITHM, Message=material
    )["Mac"]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")
