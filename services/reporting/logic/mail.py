"""Office emails as MIME messages: German text, HTML with a plain-text alternative; sent to the office
mailbox through a :class:`MailSender` (SES in ``dal``).

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
from typing import Any, Protocol

from services.reporting.dal.aggregates import office_address, sender_address
from services.reporting.logic.labels import SCHOOLS, WAITLIST_REASONS
from services.reporting.logic.periods import LONG_WAIT_DAYS, local
from services.reporting.logic.templates import environment

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
    *,
    tables: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]] = (),
) -> Mail:
    template = environment().get_template("alert.html.j2")
    all_tables = [("", header, rows)] if rows else []
    all_tables += list(tables)
    html = template.render(title=title, paragraphs=paragraphs, tables=all_tables)
    return Mail(subject=f"{SUBJECT_PREFIX} {subject}", html=html, text=text_of(html))


def _when(t: datetime) -> str:
    return local(t).strftime("%d.%m.%Y, %H:%M Uhr")


def _window(start: datetime, end: datetime) -> str:
    a, b = local(start), local(end)
    same_day = a.date() == b.date()
    return f"{a:%d.%m.%Y}, {a:%H:%M}–{b:%H:%M} Uhr" if same_day else f"{_when(start)} bis {_when(end)}"


def waitlist_digest_mail(
    waiting: Sequence[dict[str, Any]],
    placed: Sequence[dict[str, Any]],
    *,
    start: datetime,
    end: datetime,
    waiting_at_school: dict[str, int],
) -> Mail:
    """The waitlist alerts of one window: who waits (new in the window) and the all-clear for those placed
    meanwhile. Pseudonymous ids, school and class only."""
    n, k = len(waiting), len(placed)
    parts = []
    if n:
        parts.append("1 neu auf der Warteliste" if n == 1 else f"{n} neu auf der Warteliste")
    if k:
        parts.append(f"{k} inzwischen zugeordnet")
    subject = f"Warteliste: {', '.join(parts)} ({_window(start, end)})"
    paragraphs = []
    if n:
        schools = "; ".join(
            f"{SCHOOLS.get(sid, sid)}: {w} wartend" for sid, w in sorted(waiting_at_school.items())
        )
        paragraphs.append(
            f"Zwischen {local(start):%H:%M} und {local(end):%H:%M} Uhr konnte für {n} "
            f"{'Anmeldung' if n == 1 else 'Anmeldungen'} keine AV dual-Begleitung zugeordnet werden. "
            f"Stand der Warteliste: {schools}."
        )
        paragraphs.append(
            "Sobald Kapazität frei wird, ordnet die Plattform automatisch zu (längste Wartezeit zuerst). "
            "Im Dashboard lassen sich Kapazitäten ändern, Schülerinnen und Schüler von Hand zuordnen oder "
            "eine Umverteilung anstoßen."
        )
    if k:
        paragraphs.append(
            f"Entwarnung: {k} {'Schülerin/Schüler ist' if k == 1 else 'Schülerinnen und Schüler sind'} "
            "inzwischen einer Begleitung zugeordnet (siehe zweite Tabelle) – hier ist nichts mehr zu tun."
        )
    tables = []
    if n:
        tables.append(
            (
                "Wartend",
                ["Kennung", "Schule", "Klasse", "auf der Warteliste seit", "Grund"],
                [
                    [
                        w["intake_id"],
                        SCHOOLS.get(w["school_id"], w["school_id"]),
                        w.get("class_name") or "–",
                        _when(datetime.fromisoformat(w["since"])),
                        WAITLIST_REASONS.get(w.get("reason") or "", "unbekannt"),
                    ]
                    for w in waiting
                ],
            )
        )
    if k:
        tables.append(
            (
                "Entwarnung – inzwischen zugeordnet",
                ["Kennung", "Schule", "Klasse", "zugeordnet am"],
                [
                    [
                        p["intake_id"],
                        SCHOOLS.get(p["school_id"], p["school_id"]),
                        p.get("class_name") or "–",
                        _when(datetime.fromisoformat(p["at"])),
                    ]
                    for p in placed
                ],
            )
        )
    return _alert(subject, "Warteliste", paragraphs, tables=tables)


def capacity_digest_mail(
    full: Sequence[dict[str, Any]], freed: Sequence[dict[str, Any]], *, start: datetime, end: datetime
) -> Mail:
    """The capacity alerts of one window: companions at 100 % and the all-clear for those with room again."""

    def who(c: dict[str, Any]) -> str:
        return c["name"] if c["name"] == c["companion_id"] else f"{c['name']} ({c['companion_id']})"

    def rows(cs: Sequence[dict[str, Any]]) -> list[list[Any]]:
        return [
            [
                c["name"],
                c["companion_id"],
                ", ".join(SCHOOLS.get(s, s) for s in c["school_ids"]) or "–",
                c["assigned"],
                c["capacity"],
            ]
            for c in cs
        ]

    parts = []
    if full:
        names = ", ".join(who(c) for c in full)
        parts.append(
            f"{names} voll ausgelastet" if len(full) <= 2 else f"{len(full)} Begleitungen voll ausgelastet"
        )
    if freed:
        names = ", ".join(who(c) for c in freed)
        parts.append(
            f"{names} wieder mit freien Plätzen"
            if len(freed) <= 2
            else f"{len(freed)} Begleitungen wieder frei"
        )
    paragraphs = []
    if full:
        paragraphs.append(
            "Diese Begleitungen betreuen so viele Schülerinnen und Schüler, wie ihre Kapazität erlaubt. Neue "
            "Anmeldungen ihrer Schulen kommen auf die Warteliste, wenn keine andere Begleitung frei ist. "
            "Bitte prüfen, ob Kapazität erhöht oder eine weitere Begleitung zugeteilt werden kann."
        )
    if freed:
        paragraphs.append("Entwarnung: diese Begleitungen haben wieder freie Plätze.")
    header = ["Begleitung", "Kürzel", "Schulen", "zugeordnet", "Kapazität"]
    tables = []
    if full:
        tables.append(("Voll ausgelastet", header, rows(full)))
    if freed:
        tables.append(("Entwarnung – wieder freie Plätze", header, rows(freed)))
    return _alert(
        f"Auslastung: {', '.join(parts)} ({_window(start, end)})",
        "Auslastung der Begleitungen",
        paragraphs,
        tables=tables,
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


# --------------------------------------------------------------------------------------------- sending
class MailSender(Protocol):
    def send(self, raw: bytes, *, to: str, sender: str) -> str: ...


def send_mail(mailer: MailSender, m: Mail, at: datetime) -> str:
    """Send ``m`` to the office mailbox from the platform's sender address."""
    sender, to = sender_address(), office_address()
    return mailer.send(build_message(m, sender=sender, to=to, at=at), to=to, sender=sender)


def report_mail(*, title: str, html: str) -> Mail:
    """A report as the email body (the HTML already carries the download links)."""
    return Mail(subject=f"{SUBJECT_PREFIX} {title}", html=html, text=text_of(html))
