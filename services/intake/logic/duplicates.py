"""The same student twice: who counts as the same, as pure rules (the keyed hash itself is computed by KMS,
``dal.student_keys``).

Two intakes are of the same student when school year, school, first name, last name and date of birth agree
after normalising the names the way people vary them when typing: case, surrounding and inner spaces,
hyphens, apostrophes and dots, accents (``Zoë`` = ``Zoe``) and the German umlaut spellings (``Müller`` =
``Mueller``, ``Strauß`` = ``Strauss``). The material never leaves the intake service: only its HMAC is
stored (in the intakes table, index ``by_student_key``), never put into an event or a log.
"""

from __future__ import annotations

import unicodedata
from datetime import date

#: German spellings without umlauts and ß, as people write names on keyboards and in school software.
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SEPARATOR = "\x1f"  # unit separator: cannot occur in a normalised name


def normalised_name(name: str) -> str:
    """``" Şahin-Müller "`` → ``"sahinmueller"``: case-folded, umlauts spelled out, accents and everything
    that is not a letter or digit dropped."""
    text = name.casefold().translate(_GERMAN)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if unicodedata.category(c)[0] in "LN")


def student_material(
    school_year: str, school_id: str, given_name: str, family_name: str, born: date
) -> bytes:
    """What the keyed hash is computed over (personal data: it stays inside the intake service)."""
    parts = (
        school_year,
        school_id,
        normalised_name(given_name),
        normalised_name(family_name),
        born.isoformat(),
    )
    return _SEPARATOR.join(parts).encode()
