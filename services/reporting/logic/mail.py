"""Office emails as MIME messages (pure): German text, HTML with a plain-text alternative.

Charts embedded in a report as ``data:`` URIs become inline attachments (``cid:``), which mail clients
display (many block ``data:`` images). No email contains a student's name or date of birth: alerts
name the student by the pseudonymous intake id only.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import unescape
from typing import Any

from services.reporting.logic.labels import SCHOOLS, WAITLIST_REASONS
from services.reporting.logic.periods import LONG_WAIT_DAYS, local
from services.reporting.logic.report import environment

SUBJECT_PREFIX = "[AV dual]"
_DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Mail:
    subject: str
    html: str
    text: str


def build_message(mail: Mail, *, sender: str, to: str, at: datetime) -> bytes:
    """RFC 5322 message: multipart/alternative (text, HTML with inline images)."""
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = Address("AV dual-Plattform", addr_spec=sender)
    msg["To"] = to
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "avdual.local")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    images: list[tuple[str, bytes]] = []

    def to_cid(m: re.Match[str]) -> str:
        cid = make_msgid(domain="avdual.local")
        images.append((cid, base64.b64decode(m.group(1))))
        return f'src="cid:{cid[1:-1]}"'

    html = _DATA_URI.sub(to_cid, mail.html)
    msg.add_alternative(html, subtype="html")
    if images:
        html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
        for cid, data in images:
            html_part.add_related(data, maintype="image", subtype="png", cid=cid)
    return bytes(msg)


def text_of(html: str) -> str:
    """A plain-text version of simple HTML (for the text alternative)."""
    html = re.sub(r"(?is)<(style|script|head)\b.*?</\1>", "", html)
    html = re.sub(
        r'(?is)<a\s[^>]*href="([^"]+)"[^>]*>(.*?)</a>',
        lambda m: f"{m.group(2)}: {unescape(m.group(1))}",
        html,
    )
    html = re.sub(r"(?i)<br\s*/?>|</(p|h1|h2|h3|tr|li|div|table|caption|dt|dd)>", "\n", html)
    html = re.sub(r"(?i)</t[dh]>", "\t", html)
    text = unescape(_TAGS.sub("", html))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


# --------------------------------------------------------------------------------------------- alerts
def _alert(
    subject: str,
    title: str,
    paragraphs: Sequence[str],
    header: Sequence[str] = (),
    rows: Sequence[Sequence[Any]] = (),
) -> Mail:
    template = environment().get_template("alert.html.j2")
    html = template.render(title=title, paragraphs=paragraphs, header=header, rows=rows)
    return Mail(subject=f"{SUBJECT_PREFIX} {subject}", html=html, text=text_of(html))


def waitlisted_mail(
    *,
    intake_id: str,
    school_id: str,
    class_name: str | None,
    since: datetime,
    reason: str | None,
    waiting_at_school: int,
) -> Mail:
    school = SCHOOLS.get(school_id, school_id)
    reason_text = WAITLIST_REASONS.get(reason or "", "unbekannt")
    return _alert(
        f"Warteliste: neue Anmeldung ohne Begleitung – {school}",
        "Schülerin/Schüler auf der Warteliste",
        [
            f"Für eine Anmeldung der {school} konnte keine AV dual-Begleitung zugeordnet werden "
            f"(Grund: {reason_text}).",
            "An dieser Schule wartet damit eine Schülerin/ein Schüler auf eine Zuordnung."
            if waiting_at_school == 1
            else f"An dieser Schule warten damit {waiting_at_school} Schülerinnen und Schüler auf eine "
            "Zuordnung.",
            "Sobald Kapazität frei wird, ordnet die Plattform automatisch zu (längste Wartezeit zuerst).",
        ],
        ["Kennung", "Schule", "Klasse", "auf der Warteliste seit"],
        [[intake_id, school, class_name or "–", local(since).strftime("%d.%m.%Y, %H:%M Uhr")]],
    )


def companion_full_mail(
    *, companion_id: str, name: str, assigned: int, capacity: int, school_ids: Sequence[str]
) -> Mail:
    schools = ", ".join(SCHOOLS.get(s, s) for s in school_ids) or "–"
    who = name if name == companion_id else f"{name} ({companion_id})"
    return _alert(
        f"Begleitung {who} ist voll ausgelastet ({assigned}/{capacity})",
        f"AV dual-Begleitung {who} zu 100 % ausgelastet",
        [
            f"Die Begleitung {who} betreut jetzt {assigned} Schülerinnen und Schüler bei einer "
            f"Kapazität von {capacity}. Neue Anmeldungen ihrer Schulen ({schools}) kommen auf die "
            "Warteliste, wenn keine andere Begleitung frei ist.",
            "Bitte prüfen, ob Kapazität erhöht oder eine weitere Begleitung zugeteilt werden kann.",
        ],
    )


def long_wait_mail(rows: Sequence[dict[str, Any]], *, total_long: int, as_of: datetime) -> Mail:
    n = len(rows)
    who = "eine Schülerin/ein Schüler wartet" if n == 1 else f"{n} Schülerinnen und Schüler warten"
    return _alert(
        f"Wartezeit über {LONG_WAIT_DAYS} Tage: {who} länger als {LONG_WAIT_DAYS} Tage",
        f"Wartezeit über {LONG_WAIT_DAYS} Tage",
        [
            f"Stand {local(as_of).strftime('%d.%m.%Y, %H:%M Uhr')}: seit der letzten Prüfung haben {n} "
            f"Schülerinnen und Schüler {LONG_WAIT_DAYS} Tage Wartezeit überschritten; insgesamt warten "
            f"{total_long} länger als {LONG_WAIT_DAYS} Tage.",
            "Bitte Kapazität prüfen oder eine Umverteilung (Rebalance) anstoßen.",
        ],
        ["Kennung", "Schule", "Klasse", "seit", "Wartetage"],
        [
            [r["intake_id"], r["school_name"], r["class_name"], r["since"].strftime("%d.%m.%Y"), r["days"]]
            for r in rows
        ],
    )


def report_mail(*, title: str, html: str) -> Mail:
    """A report as the email body (the HTML already carries the download links)."""
    return Mail(subject=f"{SUBJECT_PREFIX} {title}", html=html, text=text_of(html))
